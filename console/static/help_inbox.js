// Help inbox: poll for new crisis cases and put them at the top without a reload.
(function () {
  "use strict";
  var root = document.getElementById("help-inbox");
  if (!root || root.getAttribute("data-live") !== "yes") return;
  var feed = root.getAttribute("data-feed");
  var latest = parseInt(root.getAttribute("data-latest") || "0", 10);
  var list = document.getElementById("crisis-list");
  var alertBox = document.getElementById("new-crisis-alert");
  var baseTitle = document.title;
  var POLL_MS = 5000;

  function cell(row, child) {
    var td = document.createElement("td");
    if (typeof child === "string") td.textContent = child; else td.appendChild(child);
    row.appendChild(td);
    return td;
  }

  function addCase(c) {
    if (document.getElementById("case-" + c.id)) return;
    var empty = list.querySelector("tr.empty");
    if (empty) empty.remove();
    var row = document.createElement("tr");
    row.id = "case-" + c.id;
    row.className = "crisis new";
    var link = document.createElement("a");
    link.href = c.url;
    link.className = "case-link";
    link.textContent = "#" + c.id + " ";
    var first = cell(row, link);
    var badge = document.createElement("span");
    badge.className = "badge crisis";
    badge.textContent = "危机";
    first.appendChild(badge);
    var age = document.createElement("time");
    age.className = "case-age";
    age.setAttribute("data-since", c.created_at);
    cell(row, age);
    cell(row, c.category || "");
    cell(row, c.assigned_to || "待领取");
    list.appendChild(row);
  }

  function poll() {
    fetch(feed + "?after=" + latest, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); throw new Error("signed out"); }
        return r.json();
      })
      .then(function (data) {
        if (data.cases.length) {
          data.cases.forEach(addCase);
          alertBox.hidden = false;
          document.title = "【新危机求助】" + baseTitle;
        }
        latest = data.latest;
        Object.keys(data.open_counts).forEach(function (kind) {
          var el = document.getElementById(kind + "-count");
          if (el) el.textContent = data.open_counts[kind];
        });
        if (window.consoleRefreshAges) window.consoleRefreshAges();
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  setTimeout(poll, POLL_MS);
})();
