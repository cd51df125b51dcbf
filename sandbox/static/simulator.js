// The simulator page: actions are JSON POSTs, the timeline is polled once a second.
// Every text that came from a user or the bot is put in with textContent, never as HTML.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("sim-data").textContent);
  const openid = data.openid;
  const templates = data.templates || {};
  const timeline = document.getElementById("timeline");
  let lastId = 0;
  let polling = false;

  const CHANNELS = { passive: "被动回复", custom: "客服消息", template: "模板消息", bizsend: "订阅通知",
                     subscribe: "订阅消息" };
  const MEDIA = { image: "[图片]", voice: "[语音]", video: "[视频]", music: "[音乐]", mpnews: "[图文消息]",
                  mpnewsarticle: "[图文消息]", wxcard: "[卡券]", msgmenu: "[菜单消息]" };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clock(seconds) {
    const d = new Date(seconds * 1000);
    return d.toLocaleTimeString("zh-CN", { hour12: false });
  }

  // Windows last up to 48 h: past today, the date matters more than the seconds.
  function until(seconds) {
    const d = new Date(seconds * 1000);
    if (d.toDateString() === new Date().toDateString()) return clock(seconds);
    return (d.getMonth() + 1) + "月" + d.getDate() + "日 " +
      d.toLocaleTimeString("zh-CN", { hour12: false, hour: "2-digit", minute: "2-digit" });
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

  // -- the timeline ------------------------------------------------------------------------------------
  function card(title, description, url) {
    const box = el("div", "card");
    box.appendChild(el("div", "card-title", title || "（无标题）"));
    if (description) box.appendChild(el("div", "card-desc", description));
    if (url) box.appendChild(el("div", "card-link", url));
    return box;
  }

  function notice(payload, fallbackTitle) {
    const template = templates[payload.template_id] || {};
    const box = el("div", "card notice");
    box.appendChild(el("div", "card-title", template.title || payload.template_id || fallbackTitle));
    const list = el("dl");
    const fields = payload.data || {};
    Object.keys(fields).forEach(function (key) {
      const item = fields[key];
      list.appendChild(el("dt", null, key));
      list.appendChild(el("dd", null, item && typeof item === "object" ? item.value : item));
    });
    box.appendChild(list);
    const link = payload.page || payload.url || (payload.miniprogram && payload.miniprogram.pagepath);
    if (link) box.appendChild(el("div", "card-link", "点击查看：" + link));
    return box;
  }

  function outgoing(entry) {
    const p = entry.payload || {};
    if (entry.channel === "template" || entry.channel === "bizsend" || entry.channel === "subscribe") {
      return notice(p, CHANNELS[entry.channel]);
    }
    if (entry.kind === "text") return el("div", "bubble", p.text ? p.text.content : p.content);
    if (entry.kind === "news") {
      const articles = (p.news && p.news.articles) || [];
      const wrap = el("div");
      articles.forEach(function (a) { wrap.appendChild(card(a.title, a.description, a.url)); });
      return wrap;
    }
    if (entry.kind === "miniprogrampage") {
      const mp = p.miniprogrampage || {};
      return card("小程序：" + (mp.title || ""), null, mp.pagepath);
    }
    if (entry.kind === "transfer_customer_service") return el("div", "bubble", "[已转接人工客服]");
    return el("div", "bubble", MEDIA[entry.kind] || "[" + entry.kind + " 消息]");
  }

  function incoming(entry) {
    const p = entry.payload || {};
    switch (entry.kind) {
      case "text": return { event: false, node: el("div", "bubble", p.content) };
      case "click": return { event: true, text: "点击菜单「" + (p.name || p.key) + "」" };
      case "view": return { event: true, text: "打开网页「" + (p.name || "") + "」 " + (p.url || "") };
      case "follow": return { event: true, text: p.scene ? "扫码关注了公众号（场景 " + p.scene + "）" : "关注了公众号" };
      case "unfollow": return { event: true, text: "取消关注了公众号" };
      case "subscribe_accept": return { event: true, text: "允许接收「" + (p.title || p.template_id) + "」一次" };
      default: return { event: true, text: entry.kind };
    }
  }

  function render(entry) {
    let row;
    if (entry.direction === "in") {
      const shown = incoming(entry);
      row = el("div", "entry in" + (shown.event ? " event" : ""));
      row.appendChild(shown.event ? el("div", "bubble", shown.text) : shown.node);
    } else {
      row = el("div", "entry out" + (entry.errcode ? " refused" : ""));
      let label = CHANNELS[entry.channel] || entry.channel;
      if (entry.channel === "passive" && entry.payload && entry.payload.elapsed_ms !== undefined) {
        label += " · " + Math.round(entry.payload.elapsed_ms) + " ms";
      }
      if (entry.errcode) label += " · 被拒绝 " + entry.errcode;
      row.appendChild(el("span", "label", label + " · " + clock(entry.at)));
      row.appendChild(outgoing(entry));
    }
    row.dataset.id = entry.id;
    row.dataset.channel = entry.channel;
    row.dataset.kind = entry.kind;
    timeline.appendChild(row);
  }

  function systemLine(text, detail, isError) {
    const row = el("div", "system" + (isError ? " error" : ""));
    row.appendChild(el("span", "notice-text", text));
    if (detail) row.appendChild(el("span", "detail", detail));
    timeline.appendChild(row);
    timeline.scrollTop = timeline.scrollHeight;
  }

  async function poll() {
    if (!openid || polling) return;
    polling = true;
    try {
      const url = "/sandbox/api/followers/" + encodeURIComponent(openid) + "/timeline?after=" + lastId;
      const resp = await request("GET", url);
      const entries = (resp.json && resp.json.entries) || [];
      const atBottom = timeline.scrollTop + timeline.clientHeight >= timeline.scrollHeight - 40;
      entries.forEach(function (entry) {
        if (entry.id > lastId) { render(entry); lastId = entry.id; }
      });
      if (entries.length && atBottom) timeline.scrollTop = timeline.scrollHeight;
    } catch (e) {
      // The sandbox restarting is not worth a message; the next poll tries again.
    } finally {
      polling = false;
    }
  }

  // -- follower facts ----------------------------------------------------------------------------------
  function showFollower(follower, credits) {
    if (!follower) return;
    const composer = document.getElementById("composer");
    if (composer) composer.dataset.following = follower.following ? "yes" : "no";
    const status = document.getElementById("follow-status");
    if (status) status.textContent = follower.following ? "已关注" : "已取消关注";
    const win = document.getElementById("window-status");
    const w = follower.window || {};
    if (win) {
      win.textContent = w.open
        ? "可发 " + w.left + " 条，" + until(w.expires_at) + " 前（" + (w.kind === "message" ? "用户消息" : "事件") + "后）"
        : "未开启";
    }
    const creditBox = document.getElementById("credit-status");
    const held = credits || follower.credits || {};
    if (creditBox) {
      const parts = Object.keys(held).filter(function (k) { return held[k] > 0; }).map(function (k) {
        return ((templates[k] && templates[k].title) || k) + " × " + held[k];
      });
      creditBox.textContent = parts.length ? parts.join("，") : "无";
    }
    const followBtn = document.getElementById("follow-btn");
    const unfollowBtn = document.getElementById("unfollow-btn");
    if (followBtn) followBtn.disabled = follower.following;
    if (unfollowBtn) unfollowBtn.disabled = !follower.following;
  }

  // -- actions -----------------------------------------------------------------------------------------
  async function act(action, body) {
    const url = "/sandbox/sim/" + encodeURIComponent(openid) + "/" + action;
    let resp;
    try {
      resp = await request("POST", url, body || {});
    } catch (e) {
      systemLine("无法连接沙箱", String(e), true);
      return null;
    }
    const json = resp.json || {};
    await poll();
    if (json.follower) showFollower(json.follower, json.credits);
    if (json.error) {
      systemLine(json.error.message, json.error.detail, true);
    } else if (json.no_reply) {
      systemLine("公众号未被动回复（success）· " + Math.round(json.elapsed_ms) + " ms", null, false);
    }
    document.dispatchEvent(new CustomEvent("sim:acted"));
    return json;
  }

  function wireChat() {
    const form = document.getElementById("input-bar");
    const input = document.getElementById("message");
    if (form) {
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        const text = input.value;
        if (!text.trim()) return;
        input.value = "";
        await act("text", { content: text });
        input.focus();
      });
    }
    const menuBar = document.getElementById("menu-bar");
    const toKeyboard = document.getElementById("to-keyboard");
    const toMenu = document.getElementById("to-menu");
    function closePopups() {
      document.querySelectorAll(".popup").forEach(function (p) { p.hidden = true; });
    }
    if (toKeyboard) toKeyboard.addEventListener("click", function () {
      closePopups(); menuBar.hidden = true; form.hidden = false; input.focus();
    });
    if (toMenu) toMenu.addEventListener("click", function () { form.hidden = true; menuBar.hidden = false; });
    document.querySelectorAll(".menu-top[data-popup]").forEach(function (btn) {
      btn.addEventListener("click", function (ev) {
        ev.stopPropagation();
        const popup = document.getElementById(btn.dataset.popup);
        const wasOpen = !popup.hidden;
        closePopups();
        popup.hidden = wasOpen;
      });
    });
    document.addEventListener("click", closePopups);
    document.querySelectorAll(".menu-leaf").forEach(function (btn) {
      btn.addEventListener("click", async function (ev) {
        ev.stopPropagation();
        closePopups();
        const type = btn.dataset.type;
        if (type === "click") await act("click", { key: btn.dataset.key, name: btn.dataset.name });
        else if (type === "view") await act("view", { url: btn.dataset.url, name: btn.dataset.name });
        else systemLine("模拟器不支持「" + type + "」类型的菜单", null, false);
      });
    });
    document.querySelectorAll("[data-action]").forEach(function (btn) {
      btn.addEventListener("click", async function () {
        btn.disabled = true;
        const json = await act(btn.dataset.action, {});
        if (!json || !json.follower) btn.disabled = false;
        else document.querySelectorAll(".follower-list li.active").forEach(function (li) {
          li.classList.toggle("left", !json.follower.following);
        });
      });
    });
    const subscribe = document.getElementById("subscribe-form");
    if (subscribe) subscribe.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      await act("subscribe-accept", { template_id: document.getElementById("subscribe-template").value });
    });
  }

  function wireFollowers() {
    const form = document.getElementById("new-follower");
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const nickname = document.getElementById("new-nickname").value;
      const resp = await request("POST", "/sandbox/sim/followers", { nickname: nickname });
      if (resp.json && resp.json.openid) {
        // The page reloads for the new follower: carry a failed push over so it is not lost.
        if (resp.json.error) sessionStorage.setItem("sim-error", JSON.stringify(resp.json.error));
        window.location.href = "/?openid=" + encodeURIComponent(resp.json.openid);
      }
    });
  }

  wireFollowers();
  if (openid) {
    wireChat();
    showFollower(data.follower, null);
    poll().then(function () {
      const carried = sessionStorage.getItem("sim-error");
      if (carried) {
        sessionStorage.removeItem("sim-error");
        const error = JSON.parse(carried);
        systemLine(error.message, error.detail, true);
      }
    });
    setInterval(poll, 1000);
  }
})();
