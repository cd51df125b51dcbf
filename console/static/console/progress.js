// Live progress for long staff jobs (imports, broadcasts): polls the JSON named by data-progress-url and
// copies its fields into the page. Text only (textContent), so nothing from the server is parsed as HTML.
//   <progress data-bind="percent">          value = json.percent
//   <span data-text="summary">              text = json.summary
//   <ul data-list="errors">                 one <li> per string in json.errors
//   [data-show-if="cancellable"]            shown only while json.cancellable is true
// The container gets data-state = json.state, so styles and tests can tell where the job is.
(function () {
  "use strict";

  function render(box, data) {
    box.dataset.state = data.state;
    box.querySelectorAll("[data-bind]").forEach(function (el) {
      el.value = Number(data[el.dataset.bind]) || 0;
    });
    box.querySelectorAll("[data-text]").forEach(function (el) {
      var value = data[el.dataset.text];
      el.textContent = value === undefined || value === null ? "" : String(value);
    });
    box.querySelectorAll("[data-list]").forEach(function (el) {
      var items = data[el.dataset.list] || [];
      el.replaceChildren.apply(el, items.map(function (text) {
        var li = document.createElement("li");
        li.textContent = String(text);
        return li;
      }));
      el.hidden = items.length === 0;
    });
    box.querySelectorAll("[data-show-if]").forEach(function (el) {
      el.hidden = !data[el.dataset.showIf];
    });
  }

  function poll(box) {
    var url = box.dataset.progressUrl;
    var every = Number(box.dataset.pollMs) || 800;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        render(box, data);
        if (!data.finished) { window.setTimeout(function () { poll(box); }, every); }
      })
      .catch(function () {
        // A blip (deploy, network) should not freeze the bar: try again a little later.
        var note = box.querySelector("[data-poll-error]");
        if (note) { note.hidden = false; }
        window.setTimeout(function () { poll(box); }, every * 3);
      });
  }

  document.querySelectorAll("[data-progress-url]").forEach(poll);
})();
