/* remyfold report, docking section: one 3Dmol.js view of the selected receptor–pose complex.
 * Protein as a grey cartoon, pocket residues as thin sticks, the docked ligand (residue LIG) as
 * green sticks. One WebGL context for every pair: the selector swaps the model.
 * window.remyfoldDocking.rendered counts drawings (used by the tests). */
(function () {
  "use strict";
  var state = { rendered: 0, shown: null, errors: [] };
  window.remyfoldDocking = state;

  function draw(viewer, pair) {
    viewer.clear();
    viewer.addModel(pair.pdb, "pdb");
    viewer.setStyle({}, { cartoon: { color: "lightgrey", opacity: 0.85 } });
    pair.pocket.forEach(function (sel) {
      viewer.addStyle({ chain: sel.chain, resi: sel.resi, hetflag: false }, { stick: { radius: 0.12 } });
    });
    viewer.setStyle({ resn: "LIG" }, { stick: { colorscheme: "greenCarbon", radius: 0.3 } });
    viewer.zoomTo({ resn: "LIG" });
    viewer.zoom(0.6);
    viewer.render();
    state.rendered += 1;
    state.shown = pair.label;
  }

  function start() {
    var data = document.getElementById("remyfold-docking");
    var box = document.querySelector(".dock-viewer");
    var select = document.getElementById("dock-pair");
    if (!data || !box || !select) { return; }
    var pairs = JSON.parse(data.textContent);
    var viewer = $3Dmol.createViewer(box, { backgroundColor: "white", antialias: true });
    select.addEventListener("change", function () { draw(viewer, pairs[Number(select.value)]); });
    draw(viewer, pairs[0]);
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
