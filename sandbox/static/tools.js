// The developer panels: fault injection and the record of API sends (control API under /sandbox/api).
// Values from the sandbox are put in with textContent, never as HTML.
"use strict";

(function () {
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clock(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString("zh-CN", { hour12: false });
  }

  async function request(method, url, body) {
    const options = { method: method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const resp = await fetch(url, options);
    let json = null;
    try { json = await resp.json(); } catch (e) { json = null; }
    return { status: resp.status, ok: resp.ok, json: json };
  }

  // -- faults and the record of sends ------------------------------------------------------------------
  async function refreshFaults() {
    const resp = await request("GET", "/sandbox/api/faults");
    const list = document.getElementById("fault-list");
    list.replaceChildren();
    const faults = (resp.json && resp.json.faults) || {};
    Object.keys(faults).forEach(function (name) {
      const f = faults[name];
      const parts = [name === "*" ? "全部接口" : name];
      if (f.errcode !== null && f.errcode !== undefined) parts.push("错误码 " + f.errcode);
      if (f.latency_ms) parts.push("延迟 " + f.latency_ms + " ms");
      if (f.drop) parts.push("断开连接");
      parts.push(f.times ? "剩 " + f.times + " 次" : "一直生效");
      list.appendChild(el("li", null, parts.join(" · ")));
    });
    if (!list.children.length) list.appendChild(el("li", "hint", "没有故障"));
  }

  function wireFaults() {
    const form = document.getElementById("fault-form");
    const problem = document.getElementById("fault-error");
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const body = { endpoint: form.endpoint.value, drop: form.drop.checked };
      ["errcode", "latency_ms", "times"].forEach(function (name) {
        if (form[name].value !== "") body[name] = Number(form[name].value);
      });
      const resp = await request("POST", "/sandbox/api/faults", body);
      problem.hidden = resp.ok;
      if (!resp.ok) problem.textContent = "添加失败：" + ((resp.json && resp.json.error) || resp.status);
      refreshFaults();
    });
    document.getElementById("clear-faults").addEventListener("click", async function () {
      await request("DELETE", "/sandbox/api/faults");
      refreshFaults();
    });
  }

  async function refreshSent() {
    const resp = await request("GET", "/sandbox/api/sent");
    const rows = ((resp.json && resp.json.sent) || []).slice(-20).reverse();
    const body = document.getElementById("sent-log");
    body.replaceChildren();
    rows.forEach(function (m) {
      const tr = el("tr");
      tr.appendChild(el("td", null, clock(m.at)));
      tr.appendChild(el("td", null, m.api));
      tr.appendChild(el("td", null, (m.openid || "").slice(0, 12)));
      const ok = m.errcode === 0;
      tr.appendChild(el("td", ok ? "good" : "bad", ok ? "成功" : m.errcode === null ? "连接断开" : m.errcode));
      body.appendChild(tr);
    });
    if (!rows.length) {
      const tr = el("tr");
      const td = el("td", "hint", "还没有发送");
      td.colSpan = 4;
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  wireFaults();
  refreshFaults();
  refreshSent();
  document.addEventListener("sim:acted", refreshSent);
  setInterval(refreshSent, 3000);
})();
