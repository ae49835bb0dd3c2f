/* Portail OVA territorial diagnostic: past spend per CPV division, stacked by where it went
 * (local, regional, elsewhere, unknown); data from a JSON script tag. */
(function () {
  "use strict";
  var node = document.getElementById("diagnostic-data"), canvas = document.getElementById("diagnostic-chart");
  if (!node || !canvas || !window.Chart) { return; }
  var d = JSON.parse(node.textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: d.labels, datasets: d.series.map(function (s) {
      return { label: s.label, data: s.values, backgroundColor: d.colors[s.key] };
    }) },
    options: { animation: false, responsive: true, maintainAspectRatio: false, indexAxis: "y",
      scales: { x: { stacked: true }, y: { stacked: true } } }
  });
})();
