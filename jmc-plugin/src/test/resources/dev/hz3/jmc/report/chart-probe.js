// ReportChartsBrowserTest's probe: reads the page's uPlot charts (window.hz3Charts) once they
// are drawn and writes what it found, as JSON, into a pre element (id probe) for --dump-dom.
window.addEventListener('load', function () {
  setTimeout(function () {
    var out = { resources: performance.getEntriesByType('resource').map(function (e) { return e.name; }),
      errors: document.getElementById('hz3-errors').textContent,
      rendered: document.body.getAttribute('data-rendered') === 'true', charts: {} };
    var data = JSON.parse(document.getElementById('hz3-report-data').textContent);
    out.durationS = (data.recording.endMs - data.recording.startMs) / 1000;
    var mc = document.createElement('canvas').getContext('2d');
    var charts = window.hz3Charts || {};
    Object.keys(charts).forEach(function (id) {
      var u = charts[id];
      var canvas = u.ctx.canvas.getBoundingClientRect();
      var over = u.over.getBoundingClientRect();
      var c = { xMin: u.scales.x.min, xMax: u.scales.x.max, syncKey: u.cursor.sync.key, axes: [], points: {} };
      var dataMax = 0;
      u.data.slice(1).forEach(function (col) { col.forEach(function (v) { if (v != null && v > dataMax) { dataMax = v; } }); });
      c.dataMax = dataMax;
      u.axes.forEach(function (a, ai) {
        mc.font = Array.isArray(a.font) ? a.font[0] : a.font;
        var labels = (a._values || []).map(String);
        var widths = labels.map(function (l) { return mc.measureText(l).width; });
        var ax = { label: a.label, values: labels, size: a._size, widths: widths };
        if (ai === 0 && a._splits && a._splits.length > 0) {
          var last = a._splits.length - 1;
          ax.lastRight = over.left + u.valToPos(a._splits[last], 'x') + widths[last] / 2;
          ax.firstLeft = over.left + u.valToPos(a._splits[0], 'x') - widths[0] / 2;
          ax.canvasRight = canvas.right;
          ax.canvasLeft = canvas.left;
        }
        c.axes.push(ax);
      });
      u.series.forEach(function (s, si) {
        if (si > 0) { c.points[s.label] = u.data[si].filter(function (v) { return v != null; }).length; }
      });
      out.charts[id] = c;
    });
    // The shared cursor: put it on one chart at the middle of the time axis; every chart's follows.
    var ids = Object.keys(charts);
    if (ids.length > 0) {
      var src = charts[ids[0]];
      src.setCursor({ left: src.valToPos(out.durationS / 2, 'x'), top: 20 }, true, true);
      out.cursorAt = {};
      ids.forEach(function (id) {
        var u = charts[id];
        out.cursorAt[id] = u.cursor.left >= 0 ? u.posToVal(u.cursor.left, 'x') : null;
      });
    }
    var table = document.getElementById('tiers');
    out.tierCells = Array.prototype.map.call(table ? table.querySelectorAll(
      'td[data-field=residentBytes], td[data-field=liveBytes], td[data-field=tailWasteBytes]') : [], function (td) {
      var r = td.getBoundingClientRect();
      return { left: r.left, right: r.right, width: r.width };
    });
    var box = table ? table.parentElement.getBoundingClientRect() : null;
    out.scrollBox = box ? { left: box.left, right: box.right } : null;
    out.viewport = document.documentElement.clientWidth;
    out.text = document.body.innerText;
    var pre = document.createElement('pre');
    pre.id = 'probe';
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }, 300);
});
