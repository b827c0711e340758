(function () {
  var box = document.getElementById("outbox-list"), sent = document.getElementById("sent-list");
  function draw() { CG.renderOutbox(box, sent); }
  window.addEventListener("cg:changed", draw);
  document.getElementById("sync-now").addEventListener("click", function () { CG.sync().then(draw); });
  draw();
})();
