/* remyfold report: 3Dmol.js views of each model, coloured by pLDDT (B-factor).
 *
 * A browser allows only ~16 live WebGL contexts per page, so a viewer is made
 * when its box scrolls into view and at most MAX_LIVE are kept: the viewer
 * least recently shown that is off screen is released (context lost, canvas
 * removed) and rebuilt if it comes back into view.
 * window.remyfoldReport.rendered counts viewers drawn (used by the tests). */
(function () {
  "use strict";
  var MAX_LIVE = 8;
  // AlphaFold pLDDT palette: (exclusive lower bound, colour), highest first.
  var BANDS = [[90, "#0053D6"], [70, "#65CBF3"], [50, "#FFDB13"], [-Infinity, "#FF7D45"]];
  var state = { rendered: 0, live: [], errors: [] };
  window.remyfoldReport = state;

  function plddtColour(atom) {
    for (var i = 0; i < BANDS.length; i++) {
      if (atom.b > BANDS[i][0]) { return BANDS[i][1]; }
    }
    return BANDS[BANDS.length - 1][1];
  }

  function placeholder(box, text) {
    var note = document.createElement("div");
    note.className = "placeholder";
    note.textContent = text;
    box.replaceChildren(note);
  }

  function release(entry) {
    var canvas = entry.box.querySelector("canvas");
    var gl = canvas && (canvas.getContext("webgl2") || canvas.getContext("webgl"));
    var lose = gl && gl.getExtension("WEBGL_lose_context");
    if (lose) { lose.loseContext(); }
    entry.viewer.clear();
    placeholder(entry.box, "3D view released; scroll here to reload it.");
    entry.box.dataset.state = "released";
  }

  function trimLive() {
    for (var i = 0; i < state.live.length && state.live.length > MAX_LIVE; i++) {
      var entry = state.live[i];
      if (!entry.visible) {
        state.live.splice(i, 1);
        i -= 1;
        release(entry);
      }
    }
  }

  function show(box, models) {
    var model = models[Number(box.dataset.model)];
    box.replaceChildren();
    var viewer = $3Dmol.createViewer(box, { backgroundColor: "white", antialias: true });
    viewer.addModel(model.data, model.format);
    viewer.setStyle({}, { cartoon: { colorfunc: plddtColour } });
    viewer.zoomTo();
    viewer.render();
    box.dataset.state = "live";
    state.rendered += 1;
    var entry = { box: box, viewer: viewer, visible: true };
    state.live.push(entry);
    trimLive();
    return entry;
  }

  function start() {
    var models = JSON.parse(document.getElementById("remyfold-models").textContent);
    var boxes = Array.prototype.slice.call(document.querySelectorAll(".viewer[data-model]"));
    var observer = new IntersectionObserver(function (changes) {
      changes.forEach(function (change) {
        var box = change.target;
        var entry = state.live.find(function (e) { return e.box === box; });
        if (entry) { entry.visible = change.isIntersecting; }
        if (change.isIntersecting && box.dataset.state !== "live") {
          try { show(box, models); } catch (err) {
            state.errors.push(String(err));
            placeholder(box, "3D view unavailable: " + err);
            throw err;
          }
        }
      });
      trimLive();
    }, { rootMargin: "200px 0px" });
    boxes.forEach(function (box) {
      placeholder(box, "Loading 3D view…");
      observer.observe(box);
    });
  }

  if (typeof $3Dmol === "undefined") {
    throw new Error("remyfold report: the 3Dmol.js library did not load");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
