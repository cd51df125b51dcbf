// Shared console behaviour. No inline scripts anywhere (CSP script-src 'self').
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";

  // fetch() with the CSRF header and JSON; every console POST needs the token.
  window.consoleFetch = function (url, options) {
    options = options || {};
    options.headers = options.headers || {};
    options.headers["X-CSRF-Token"] = token;
    options.headers["Accept"] = "application/json";
    options.credentials = "same-origin";
    return fetch(url, options);
  };

  // <form data-confirm="…">: ask before submitting.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // <time data-since="ISO">: a live "x 分钟前" age, refreshed every 15 s.
  function age(seconds) {
    if (seconds < 60) return Math.max(0, Math.floor(seconds)) + " 秒";
    if (seconds < 3600) return Math.floor(seconds / 60) + " 分钟";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " 小时 " + Math.floor((seconds % 3600) / 60) + " 分";
    return Math.floor(seconds / 86400) + " 天";
  }
  window.consoleRefreshAges = function () {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(since)) el.textContent = age((now - since) / 1000);
    });
  };
  window.consoleRefreshAges();
  setInterval(window.consoleRefreshAges, 15000);
})();
