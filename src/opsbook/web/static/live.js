// opsbook dashboard: Server-Sent Events into the page, panels that refresh themselves,
// and forms that clear after they were sent. No framework; htmx wires what is swapped in.
(function () {
  "use strict";

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  }

  function wire(element) {
    if (window.htmx) window.htmx.process(element);
  }

  function split(data) {
    var cut = data.indexOf("\n");
    return cut < 0 ? [data, ""] : [data.slice(0, cut), data.slice(cut + 1)];
  }

  // <element data-stream="URL">: events named replace, append, text and end (see sse.py).
  function connect(root) {
    var state = root.querySelector("[data-stream-state]") || document.querySelector("[data-stream-state]");
    var source = new EventSource(root.getAttribute("data-stream"));
    function show(text, name) {
      if (!state) return;
      state.textContent = text;
      state.setAttribute("data-state", name);
    }
    source.onopen = function () { show("live", "open"); };
    source.onerror = function () {
      if (source.readyState !== EventSource.CLOSED) show("reconnecting…", "retry");
    };
    source.addEventListener("replace", function (event) {
      var fresh = parse(event.data).firstElementChild;
      var old = fresh && fresh.id ? document.getElementById(fresh.id) : null;
      if (!old) return;
      var focused = old.contains(document.activeElement) ? document.activeElement.id : null;
      old.replaceWith(fresh);
      wire(fresh);
      if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
    });
    source.addEventListener("append", function (event) {
      var parts = split(event.data);
      var target = document.getElementById(parts[0]);
      if (!target) return;
      var added = Array.prototype.slice.call(parse(parts[1]).children);
      added.forEach(function (element) {
        if (element.id && document.getElementById(element.id)) return;
        element.classList.add("fresh");
        target.appendChild(element);
        wire(element);
      });
    });
    source.addEventListener("text", function (event) {
      var parts = split(event.data);
      var target = document.getElementById(parts[0]);
      if (!target) return;
      var following = target.scrollTop + target.clientHeight >= target.scrollHeight - 8;
      target.appendChild(document.createTextNode(parts[1] + "\n"));
      if (following) target.scrollTop = target.scrollHeight;
    });
    source.addEventListener("end", function () {
      source.close();
      show("finished", "closed");
    });
  }

  // <element id=… data-refresh="URL" data-every="seconds">: fetched again and swapped,
  // except while the page is hidden or focus is inside it (keyboard users keep their place).
  function refresh(id, every) {
    window.setInterval(function () {
      var element = document.getElementById(id);
      if (!element || document.hidden || !window.htmx) return;
      if (element.contains(document.activeElement) && document.activeElement !== document.body) return;
      window.htmx.ajax("GET", element.getAttribute("data-refresh"), { target: "#" + id, swap: "outerHTML" });
    }, every * 1000);
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail && event.detail.elt;
    if (form && form.tagName === "FORM" && form.hasAttribute("data-reset") && event.detail.successful) {
      form.reset();
    }
  });

  function start() {
    document.querySelectorAll("[data-stream]").forEach(connect);
    document.querySelectorAll("[data-refresh][id]").forEach(function (element) {
      refresh(element.id, parseInt(element.getAttribute("data-every"), 10) || 10);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
