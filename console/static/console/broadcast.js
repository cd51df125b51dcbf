// The compose page: shows the fields that apply (message form, template values, audience, schedule) and
// asks the server to check every value against WeChat's rules while staff type, drawing the preview and the
// audience size from its answer. Text only (textContent): nothing typed is ever parsed as HTML.
(function () {
  "use strict";
  var form = document.getElementById("broadcast-form");
  if (!form) { return; }
  var url = form.dataset.previewUrl;
  var CHANNELS = { subscription: "订阅消息", template: "模板消息" };

  function checked(name) {
    var el = form.querySelector('[name="' + name + '"]:checked');
    return el ? el.value : "";
  }

  function sync() {
    var mode = checked("mode");
    var template = form.elements.template.value;
    var audience = form.elements.audience.value;
    form.querySelectorAll("[data-mode]").forEach(function (el) { el.hidden = el.dataset.mode !== mode; });
    form.querySelectorAll("[data-templates]").forEach(function (el) {
      el.hidden = mode !== "template" || el.dataset.templates.split(" ").indexOf(template) < 0;
    });
    form.querySelectorAll("[data-audience]").forEach(function (el) { el.hidden = el.dataset.audience !== audience; });
    form.querySelectorAll("[data-when]").forEach(function (el) { el.hidden = el.dataset.when !== checked("when"); });
  }

  function payload() {
    var data = {};
    new FormData(form).forEach(function (value, key) {
      if (key !== "csrf_token" && typeof value === "string") { data[key] = value; }
    });
    return data;
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function render(result) {
    var problems = document.getElementById("preview-problems");
    problems.replaceChildren.apply(problems, (result.problems || []).map(function (p) { return el("li", p); }));
    problems.hidden = !(result.problems || []).length;
    document.getElementById("preview-text").textContent = result.text || "";
    var cards = document.getElementById("preview-cards");
    cards.replaceChildren();
    Object.keys(result.channels || {}).forEach(function (channel) {
      var card = el("div", undefined, "wechat-card");
      card.dataset.channel = channel;
      card.appendChild(el("h3", CHANNELS[channel] || channel));
      var list = el("dl");
      result.channels[channel].fields.forEach(function (field) {
        list.appendChild(el("dt", field.key + "（" + field.type + "）"));
        var value = el("dd", field.value, field.shortened ? "shortened" : "");
        if (field.shortened) { value.title = "超出长度，发送时会截短"; }
        if (field.problem) { value.appendChild(el("small", " " + field.problem, "problem")); }
        list.appendChild(value);
      });
      card.appendChild(list);
      cards.appendChild(card);
    });
    var audience = result.audience || {};
    document.getElementById("audience-count").textContent =
      audience.count === null || audience.count === undefined
        ? (audience.label || "")
        : audience.label + "：预计 " + audience.count + " 人";
    document.getElementById("send-broadcast").disabled = !result.ok;
    form.dataset.checked = result.ok ? "ok" : "problems";
  }

  var timer = null;
  var latest = 0;
  function check() {
    var ticket = ++latest;
    window.consoleFetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload())
    })
      .then(function (response) { return response.json(); })
      .then(function (result) { if (ticket === latest) { render(result); } })
      .catch(function () { /* the server checks again on send */ });
  }
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 250);
  }

  form.addEventListener("input", function () { sync(); later(); });
  form.addEventListener("change", function () { sync(); later(); });
  sync();
  check();
})();
