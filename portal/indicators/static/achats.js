/* Portail OVA procurement page: the local-shares bar chart (data from a JSON script tag). */
(function () {
  "use strict";
  var node = document.getElementById("shares-data"), canvas = document.getElementById("shares-chart");
  if (!node || !canvas || !window.Chart) { return; }
  var d = JSON.parse(node.textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: d.labels, datasets: [
      { label: d.amountLabel, data: d.amount, backgroundColor: "#000091" },
      { label: d.contractsLabel, data: d.contracts, backgroundColor: "#6baed6" }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, indexAxis: "y",
      scales: { x: { min: 0, max: 100 } } }
  });
})();
