/* Shared by the dashboard pages: configuration, the SLA/age clocks and the live socket.
 * Data never becomes markup: everything is written with textContent / setAttribute. */
(function () {
  "use strict";

  const configNode = document.getElementById("live-config");
  const config = configNode ? JSON.parse(configNode.textContent) : {};
  // The server's clock decides SLA deadlines: correct for a skewed client clock.
  const skew = config.server_time ? Date.parse(config.server_time) - Date.now() : 0;
  const now = () => Date.now() + skew;

  const STATUS_LABELS = { open: "Open", in_progress: "In progress", acknowledged: "Acknowledged", resolved: "Resolved" };
  // Statuses whose SLA clock runs (tickets.models.SLA_RUNNING): acknowledging or resolving stops
  // it, and the ticket's sla_status (Met / Breached) then says how it ended.
  const SLA_RUNNING = { open: true, in_progress: true };
  // The longest wait between two attempts to open the socket (before its ±25 % jitter).
  const RETRY_MAX_MS = 10000;

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  /* Compact duration, the same wording as the server: 45s, 12m, 3h 05m, 2d 4h. */
  function duration(seconds) {
    let s = Math.floor(Math.abs(seconds));
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + pad(m) + "m";
    if (m) return m + "m";
    return s + "s";
  }

  /* A ticking clock: H:MM:SS (with days when needed). */
  function clock(seconds) {
    let s = Math.floor(Math.abs(seconds));
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    return (d ? d + "d " : "") + h + ":" + pad(m) + ":" + pad(s);
  }

  function renderSla(el, at) {
    const status = el.dataset.status;
    const slaStatus = el.dataset.slaStatus || "";
    const deadline = el.dataset.deadline ? Date.parse(el.dataset.deadline) : NaN;
    let state;
    let text;
    // Still Pending with no deadline once its clock would have stopped: it never had one.
    const neverRan = slaStatus === "Pending" && Number.isNaN(deadline);
    if (status && !SLA_RUNNING[status] && !neverRan) {
      state = slaStatus === "Breached" ? "late" : "met";
      text = "SLA " + (slaStatus || "Met");
    } else if (Number.isNaN(deadline)) {
      state = "none";
      text = "No SLA";
    } else {
      const remaining = (deadline - at) / 1000;
      if (remaining < 0) {
        state = "breached";
        text = "Breached " + clock(remaining) + " ago";
      } else {
        state = remaining < 600 ? "warn" : "ok";
        text = clock(remaining) + " left";
      }
    }
    if (el.textContent !== text) el.textContent = text;
    if (el.dataset.state !== state) el.dataset.state = state;
  }

  function tick() {
    const at = now();
    document.querySelectorAll(".js-sla").forEach((el) => renderSla(el, at));
    document.querySelectorAll(".js-age").forEach((el) => {
      const since = Date.parse(el.getAttribute("datetime"));
      if (!Number.isNaN(since)) {
        const text = duration((at - since) / 1000);
        if (el.textContent !== text) el.textContent = text;
      }
    });
  }

  function indicator(state, text) {
    const el = document.getElementById("live-status");
    if (!el) return;
    el.dataset.state = state;
    const label = el.querySelector(".live-text");
    if (label) label.textContent = text;
  }

  /* Open the ticket socket and keep it open: reconnect with exponential backoff and jitter.
   * handlers.message(msg) gets each ticket.changed, handlers.incident(msg) (optional) each
   * incident.changed, handlers.folded(msg) (optional) each ticket.folded (msg.ticket_id
   * was folded into msg.into and deleted), handlers.logAnalysis(job) (optional) each
   * log-analysis progress event; handlers.opened() (optional) runs each time the socket opens,
   * handlers.resync() after a reconnect, and after a first open that earlier attempts failed
   * to make (events sent while no socket was open are lost, so the page refreshes its data). */
  function connect(handlers) {
    let attempt = 0;
    let opened = false;
    let leaving = false;
    let retryTimer = null;
    let current = null;

    window.addEventListener("pagehide", () => {
      leaving = true;
    });
    /* Back online, or shown again (a laptop woken up, a tab brought back): a retry waiting out
     * its back-off is made now, since what failed may well work again. */
    window.addEventListener("online", () => reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") reconnectNow();
    });

    function reconnectNow() {
      if (retryTimer) {
        window.clearTimeout(retryTimer);
        open();
      }
    }

    function scheduleRetry() {
      attempt += 1;
      /* 1, 2, 4, 8 s, then every RETRY_MAX_MS, each ±25 %: a whole service restarted (a deploy)
       * is back within seconds, and a longer wait leaves the page stale that much longer. */
      const base = Math.min(RETRY_MAX_MS, 1000 * 2 ** Math.min(attempt - 1, 4));
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      indicator("offline", "Offline · retrying in " + Math.ceil(delay / 1000) + "s");
      retryTimer = window.setTimeout(open, delay);
    }

    /* Whether the browser is signed out (the page's own URL sends it to the sign-in page, or
     * is refused): asked when a handshake is refused (it looks like a network drop) and when
     * the server closes the socket with 4401. A failed request says not signed out. */
    function checkSession() {
      return fetch(window.location.href, {
        method: "HEAD",
        credentials: "same-origin",
        redirect: "manual",
        cache: "no-store",
        headers: { "X-Live-Read": "1" },
      })
        .then((r) => r.type === "opaqueredirect" || r.status === 401 || r.status === 403)
        .catch(() => false);
    }

    function open() {
      retryTimer = null;
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      let socket;
      try {
        // Websockets may be served by another process (daphne next to gunicorn): ws_url.
        const url = config.ws_url || scheme + "//" + window.location.host + config.ws_path;
        socket = new WebSocket(url);
        current = socket;
      } catch (err) {
        scheduleRetry();
        return;
      }
      let thisOpened = false;
      indicator("connecting", attempt ? "Reconnecting…" : "Connecting…");
      socket.addEventListener("open", () => {
        const missedEvents = opened || attempt > 0;
        opened = true;
        thisOpened = true;
        attempt = 0;
        indicator("live", "Live");
        if (handlers.opened) handlers.opened();
        if (missedEvents && handlers.resync) handlers.resync();
      });
      socket.addEventListener("message", (event) => {
        let msg;
        try {
          msg = JSON.parse(event.data);
        } catch (err) {
          return;
        }
        if (msg && msg.type === "ticket.changed" && msg.ticket && typeof msg.ticket.id === "string") {
          handlers.message(msg);
        } else if (
          msg &&
          msg.type === "incident.changed" &&
          msg.incident &&
          typeof msg.incident.id === "string" &&
          handlers.incident
        ) {
          handlers.incident(msg);
        } else if (msg && msg.type === "log_analysis.progress" && msg.job && handlers.logAnalysis) {
          handlers.logAnalysis(msg.job);
        } else if (
          msg &&
          msg.type === "ticket.folded" &&
          typeof msg.ticket_id === "string" &&
          typeof msg.into === "string" &&
          handlers.folded
        ) {
          handlers.folded(msg);
        }
      });
      socket.addEventListener("close", (event) => {
        if (leaving) return;
        if (event.code === 4401) {
          /* The server read this socket's session again and it signs in no viewer. The
           * browser may still be signed in, with a new session: changing one's password, or
           * signing in again, replaces the session's key. Ask the server; if so, open a new
           * socket now (it carries the browser's session; a refused one backs off). */
          indicator("connecting", "Checking the sign-in…");
          checkSession().then((signedOut) => {
            if (leaving) return;
            if (signedOut) {
              indicator("signed-out", "Signed out · reload to sign in");
              return;
            }
            attempt += 1;
            open();
          });
          return;
        }
        if (!thisOpened && attempt >= 1) {
          checkSession().then((signedOut) => {
            if (signedOut) indicator("signed-out", "Signed out · reload to sign in");
            else scheduleRetry();
          });
          return;
        }
        scheduleRetry();
      });
    }

    open();
    const connection = {
      /* Drop the connection as a network failure would (the page then reconnects). */
      drop() {
        if (current) current.close(4000, "dropped");
      },
      reconnectNow,
    };
    window.RcaLive.connection = connection;
    return connection;
  }

  function ticketUrl(id) {
    return (config.ticket_url || "/tickets/__id__/").replace("__id__", encodeURIComponent(id));
  }

  function incidentUrl(id) {
    return (config.incident_url || "/incidents/__id__/").replace("__id__", encodeURIComponent(id));
  }

  /* Enter in an action form's "What fixed it" field clicks its Resolve button, when Resolve is
   * offered (the form's first button is a disabled one, so Enter elsewhere takes no action).
   * In an empty field Enter resolves nothing: it asks for what fixed it (resolving without a
   * fix takes a click on Resolve). The question goes once the field is edited or left. */
  const FIX_WANTED = "Type what fixed it first, or click Resolve to resolve without a fix.";

  function enterResolves(form) {
    if (!form || !form.elements.fix) return;
    const fix = form.elements.fix;
    const clear = () => fix.setCustomValidity("");
    fix.addEventListener("input", clear);
    fix.addEventListener("blur", clear);
    fix.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.isComposing) return;
      event.preventDefault();
      const resolve = form.querySelector('button[name="action"][value="resolve"]');
      if (!resolve || resolve.hidden) return;
      if (!fix.value.trim()) {
        fix.setCustomValidity(FIX_WANTED);
        fix.reportValidity();
        return;
      }
      clear();
      resolve.click();
    });
  }

  enterResolves(document.getElementById("ticket-actions"));
  enterResolves(document.getElementById("incident-actions"));
  tick();
  window.setInterval(tick, 1000);

  /* A page's reader of its live parts: the returned `refresh` reads `url` soon, once for a
   * burst of events (BURST_MS), and swaps in each `data-live-part` element as the server
   * rendered it (parsed inertly, never run), keeping what was typed in it and the keyboard
   * focus on the same control; then `afterSwap(doc)` takes anything else from
   * the read page. A refresh asked for while a read is under way reads after it: reads never
   * overlap, so an older one never lands after a newer one. */
  const BURST_MS = 250;

  function partsReader(url, afterSwap) {
    let timer = null;
    let reading = false;
    let again = false;

    function refresh() {
      if (reading) again = true;
      else if (!timer) timer = window.setTimeout(read, BURST_MS);
    }

    function read() {
      timer = null;
      reading = true;
      // A live read shows no messages: they stay for the page loaded next (an action's,
      // whose redirect may not have been followed yet). checkSession and board.js send it too.
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "X-Live-Read": "1" } })
        .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
        .then(take)
        .catch(() => {})
        .finally(() => {
          reading = false;
          if (again) {
            again = false;
            refresh();
          }
        });
    }

    function take(html) {
      const doc = new DOMParser().parseFromString(html, "text/html");
      doc.querySelectorAll("[data-live-part]").forEach((fresh) => {
        const target = document.querySelector('[data-live-part="' + fresh.dataset.livePart + '"]');
        if (!target) return;
        const typed = typedIn(target);
        const unsent = unsentIn(target);
        const focused = focusedControl(target);
        target.replaceWith(document.adoptNode(fresh));
        retype(fresh, typed, unsent);
        refocusControl(fresh, focused);
      });
      if (afterSwap) afterSwap(doc);
    }

    return refresh;
  }

  /* What was typed in a part's text fields (a note on a remediation's Approve / Decline), by
   * field: its form's target and hidden values (the remediation it names) and its name. A
   * swapped-in part keeps it where the same field is still offered, and the focus with it;
   * where that form is gone (decided elsewhere), the text is shown as not sent
   * (`data-unsent-note`, as the server shows a note typed with a decision that was not done),
   * and kept so through the part's later swaps. */
  function fieldKey(input) {
    const form = input.form;
    if (!form) return null;
    const hidden = Array.from(form.querySelectorAll("input[type=hidden]"))
      .filter((h) => h.name !== "csrfmiddlewaretoken")
      .map((h) => h.name + "=" + h.value);
    return [form.getAttribute("action"), ...hidden, input.name].join("|");
  }

  /* A button or link of a part that had the keyboard focus (its text fields are retyped with
   * theirs): the same control of the swapped-in part takes it, so a Tab or Enter goes on from
   * there rather than from the page's start. */
  function controlKey(node) {
    if (node.form) return fieldKey(node) + "|" + node.value;
    if (node.tagName === "A") return "a|" + node.getAttribute("href") + "|" + node.textContent;
    return null;
  }

  function focusedControl(part) {
    const active = document.activeElement;
    if (!active || !part.contains(active) || active.matches("input[type=text], textarea")) return null;
    return controlKey(active);
  }

  function refocusControl(part, key) {
    if (key === null) return;
    const same = Array.from(part.querySelectorAll("button, a[href], input, select")).find(
      (node) => controlKey(node) === key
    );
    if (same) same.focus({ preventScroll: true });
  }

  function typedIn(part) {
    const typed = [];
    part.querySelectorAll("input[type=text], textarea").forEach((input) => {
      const focused = document.activeElement === input;
      if (!input.value && !focused) return;
      typed.push({
        key: fieldKey(input),
        value: input.value,
        focused,
        start: input.selectionStart,
        end: input.selectionEnd,
      });
    });
    return typed;
  }

  function unsentIn(part) {
    return Array.from(part.querySelectorAll("[data-unsent-note]"), (node) => node.dataset.unsentNote);
  }

  function retype(part, typed, unsent) {
    const placed = new Set();
    part.querySelectorAll("input[type=text], textarea").forEach((input) => {
      const was = typed.find((t) => t.key !== null && t.key === fieldKey(input));
      if (!was) return;
      placed.add(was);
      input.value = was.value;
      if (was.focused) {
        input.focus();
        if (was.start !== null) input.setSelectionRange(was.start, was.end);
      }
    });
    const shown = new Set(unsentIn(part));
    const lost = typed.filter((t) => !placed.has(t) && t.value.trim()).map((t) => t.value);
    [...unsent, ...lost].forEach((text) => {
      if (shown.has(text)) return;
      shown.add(text);
      const node = document.createElement("div");
      node.className = "note small";
      node.dataset.unsentNote = text;
      node.textContent = "Your note was not sent: \u201c" + text + "\u201d";
      const head = part.querySelector(".panel-head");
      if (head) head.after(node);
      else part.prepend(node);
    });
  }

  window.RcaLive = {
    config,
    connect,
    partsReader,
    tick,
    duration,
    ticketUrl,
    incidentUrl,
    STATUS_LABELS,
    SLA_RUNNING,
    now,
  };
})();
