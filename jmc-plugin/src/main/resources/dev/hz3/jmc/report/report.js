// hz3-report: draws the report's charts from the data in <script id="hz3-report-data">, as inline
// SVG. No libraries, no network. Every drawn series carries data-series and data-points so that
// the report's test can check, in the DOM Chromium dumps, what was drawn; any error is written
// into #hz3-errors.
(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var errors = document.getElementById('hz3-errors');
  function fail(msg) { if (errors) { errors.textContent += msg + '\n'; } }
  window.addEventListener('error', function (e) { fail('error: ' + e.message); });

  var BUCKET_COLORS = ['#b8bec9', '#c8372d', '#e8833a', '#e9c46a', '#2e8540'];
  var LINE_COLORS = ['#2c6fbb', '#c8372d', '#2e8540', '#8e5cc2', '#e8833a', '#5c6577'];

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function div(cls, parent, text) {
    var d = document.createElement('div');
    d.className = cls;
    if (text !== undefined) { d.textContent = text; }
    if (parent) { parent.appendChild(d); }
    return d;
  }
  function fmtCount(n) { return Math.round(n).toLocaleString('en-US'); }
  function fmtBytes(n) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    var v = n;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? Math.round(v) : v.toFixed(1)) + ' ' + units[i];
  }
  function niceMax(v) {
    if (!(v > 0)) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var m = [1, 2, 4, 8, 10].find(function (x) { return x * p >= v; });
    return m * p;
  }
  function legend(parent, series) {
    var l = div('legend', parent);
    series.forEach(function (s) {
      var span = document.createElement('span');
      var i = document.createElement('i');
      i.style.background = s.color;
      span.appendChild(i);
      span.appendChild(document.createTextNode(s.name));
      l.appendChild(span);
    });
  }

  // A time chart: x = seconds since the recording started, one polyline (or stacked band) per
  // series. spec = {title, t: [ms], series: [{name, key, values, color}], stacked, fmt}
  function timeChart(container, spec) {
    var W = 620, H = 230, L = 70, R = 12, T = 10, B = 28;
    var box = div('chart', container);
    box.setAttribute('data-chart', spec.id);
    div('title', box, spec.title);
    legend(box, spec.series);
    var svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' }, box);
    var tip = div('tip', box);
    var t0 = DATA.recording.startMs;
    var xs = [];
    spec.series.forEach(function (s) { (s.t || spec.t).forEach(function (t) { xs.push((t - t0) / 1000); }); });
    var xMax = Math.max(1e-3, Math.max.apply(null, xs.concat([0])));
    var xMin = Math.min.apply(null, xs.concat([xMax]));
    if (xMax - xMin < 1e-3) { xMin = Math.max(0, xMin - 0.5); xMax = xMin + 1; }
    var n = spec.t.length;
    var tops = [];
    var yMax = 0;
    if (spec.stacked) {
      for (var i = 0; i < n; i++) {
        var sum = 0;
        spec.series.forEach(function (s) { sum += s.values[i]; });
        yMax = Math.max(yMax, sum);
      }
    } else {
      spec.series.forEach(function (s) { s.values.forEach(function (v) { yMax = Math.max(yMax, v); }); });
    }
    yMax = niceMax(yMax);
    function X(x) { return L + (x - xMin) / (xMax - xMin) * (W - L - R); }
    function Y(y) { return T + (1 - y / yMax) * (H - T - B); }
    for (var g = 0; g <= 4; g++) {
      var gy = yMax * g / 4;
      el('line', { x1: L, x2: W - R, y1: Y(gy), y2: Y(gy), 'class': 'grid' }, svg);
      el('text', { x: L - 6, y: Y(gy) + 4, 'text-anchor': 'end' }, svg).textContent = spec.fmt(gy);
    }
    for (var gx = 0; gx <= 5; gx++) {
      var xv = xMin + (xMax - xMin) * gx / 5;
      el('text', { x: X(xv), y: H - 10, 'text-anchor': 'middle' }, svg).textContent =
        xv.toFixed(xMax - xMin < 2 ? 2 : 1) + ' s';
    }
    el('line', { x1: L, x2: L, y1: T, y2: H - B, 'class': 'axis' }, svg);
    el('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, 'class': 'axis' }, svg);
    var base = new Array(n).fill(0);
    spec.series.forEach(function (s) {
      var times = s.t || spec.t;
      var pts = [];
      if (spec.stacked) {
        var upper = [];
        for (var i = 0; i < n; i++) { upper.push(base[i] + s.values[i]); }
        if (n === 1) {
          // One sample: a bar, not a band.
          var bx = X((times[0] - t0) / 1000);
          el('rect', { x: Math.min(bx - 8, W - R - 16), y: Y(upper[0]), width: 16, height: Math.max(0, Y(base[0]) - Y(upper[0])),
            fill: s.color, 'fill-opacity': 0.85, 'data-series': s.key, 'data-points': n }, svg);
        } else {
          for (var j = 0; j < n; j++) { pts.push(X((times[j] - t0) / 1000) + ',' + Y(upper[j])); }
          var lower = [];
          for (var k = n - 1; k >= 0; k--) { lower.push(X((times[k] - t0) / 1000) + ',' + Y(base[k])); }
          el('polygon', { points: pts.concat(lower).join(' '), fill: s.color, 'fill-opacity': 0.85, stroke: s.color,
            'data-series': s.key, 'data-points': n }, svg);
        }
        base = upper;
      } else {
        for (var m = 0; m < s.values.length; m++) { pts.push(X((times[m] - t0) / 1000) + ',' + Y(s.values[m])); }
        var attrs = { points: pts.join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2,
          'data-series': s.key, 'data-points': s.values.length };
        el('polyline', attrs, svg);
        if (s.values.length === 1) {
          el('circle', { cx: X((times[0] - t0) / 1000), cy: Y(s.values[0]), r: 3, fill: s.color }, svg);
        }
      }
    });
    svg.addEventListener('mousemove', function (ev) {
      var rect = svg.getBoundingClientRect();
      var x = xMin + (ev.clientX - rect.left - L) / (W - L - R) * (xMax - xMin);
      var lines = [];
      spec.series.forEach(function (s) {
        var times = s.t || spec.t;
        var best = -1, bestD = Infinity;
        for (var i = 0; i < times.length; i++) {
          var d = Math.abs((times[i] - t0) / 1000 - x);
          if (d < bestD) { bestD = d; best = i; }
        }
        if (best >= 0) { lines.push(s.name + ': ' + spec.fmt(s.values[best]) + '  (' + ((times[best] - t0) / 1000).toFixed(2) + ' s)'); }
      });
      tip.textContent = lines.join('\n');
      tip.style.display = 'block';
      tip.style.left = Math.min(ev.clientX - rect.left + 14, W - 200) + 'px';
      tip.style.top = (ev.clientY - rect.top + 30) + 'px';
    });
    svg.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  }

  // Horizontal stacked bars: one bar per size class, split by occupancy bucket.
  function classBars(container, rows) {
    var box = div('chart', container);
    box.setAttribute('data-chart', 'classes');
    div('title', box, 'Partial size classes: pages by occupancy');
    var series = DATA.buckets.map(function (b, i) { return { name: DATA.bucketLabels[i], color: BUCKET_COLORS[i] }; });
    legend(box, series);
    var rowH = 22, L = 170, R = 70, W = 760;
    var H = rows.length * rowH + 24;
    var svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' }, box);
    var max = 1;
    rows.forEach(function (r) {
      var sum = 0;
      DATA.buckets.forEach(function (b) { sum += r[b]; });
      max = Math.max(max, sum);
    });
    max = niceMax(max);
    rows.forEach(function (r, ri) {
      var y = 4 + ri * rowH;
      el('text', { x: L - 6, y: y + 14, 'text-anchor': 'end' }, svg).textContent =
        'class ' + r.sizeClass + ' (' + fmtBytes(r.objectSize) + ', ' + r.tier + ')';
      var x = L;
      DATA.buckets.forEach(function (b, bi) {
        var w = r[b] / max * (W - L - R);
        el('rect', { x: x, y: y + 2, width: Math.max(0, w), height: rowH - 6, fill: BUCKET_COLORS[bi],
          'data-series': 'class' + r.sizeClass + '.' + b, 'data-value': r[b] }, svg)
          .appendChild(document.createElementNS(SVG, 'title')).textContent =
          'class ' + r.sizeClass + ' ' + DATA.bucketLabels[bi] + ': ' + fmtCount(r[b]) + ' pages';
        x += w;
      });
      el('text', { x: x + 4, y: y + 14 }, svg).textContent = fmtCount(r.pagesPartial) + ' partial';
    });
  }

  var DATA;
  try {
    DATA = JSON.parse(document.getElementById('hz3-report-data').textContent);
    var tierBox = document.getElementById('chart-tiers');
    DATA.tiers.forEach(function (tier) {
      var resident = 0;
      DATA.buckets.forEach(function (b) { tier[b].forEach(function (v) { resident += v; }); });
      if (resident === 0) { return; }
      timeChart(tierBox, {
        id: 'tier-' + tier.tier, title: tier.tier + ' tier: resident pages by occupancy', t: tier.t, stacked: true,
        fmt: fmtCount,
        series: DATA.buckets.map(function (b, i) {
          return { name: DATA.bucketLabels[i], key: tier.tier + '.' + b, values: tier[b], color: BUCKET_COLORS[i] };
        })
      });
    });

    var classBox = document.getElementById('chart-classes');
    if (DATA.classes.length > 0) { classBars(classBox, DATA.classes); }

    var reclaimBox = document.getElementById('chart-reclaim');
    var reclaim = [
      { name: 'decommit candidates', key: 'reclaim.candidateBytes', t: DATA.reclaim.t, values: DATA.reclaim.candidateBytes, color: LINE_COLORS[1] },
      { name: 'hz3 resident', key: 'reclaim.hz3ResidentBytes', t: DATA.reclaim.t, values: DATA.reclaim.hz3ResidentBytes, color: LINE_COLORS[0] },
      { name: 'process RSS', key: 'rss.rss', t: DATA.rss.t, values: DATA.rss.rss, color: LINE_COLORS[5] }
    ].filter(function (s) { return s.values.length > 0; });
    if (reclaim.length > 0) {
      timeChart(reclaimBox, { id: 'reclaim', title: 'Reclaim candidates against RSS', t: DATA.reclaim.t, stacked: false,
        fmt: fmtBytes, series: reclaim });
    } else { div('empty', reclaimBox, 'No census and no process-memory samples.'); }

    var procBox = document.getElementById('chart-process');
    if (DATA.process.t.length > 0) {
      timeChart(procBox, { id: 'process', title: 'Resident memory of the process', t: DATA.process.t, stacked: true,
        fmt: fmtBytes, series: DATA.processParts.map(function (p, i) {
          return { name: DATA.processLabels[i], key: 'process.' + p, values: DATA.process[p], color: LINE_COLORS[i] };
        }) });
    }

    var glibcBox = document.getElementById('chart-glibc');
    if (glibcBox && DATA.glibc && DATA.glibc.t.length > 0) {
      timeChart(glibcBox, { id: 'glibc', title: 'glibc heap', t: DATA.glibc.t, stacked: false, fmt: fmtBytes,
        series: [
          { name: 'in use', key: 'glibc.inUseBytes', values: DATA.glibc.inUseBytes, color: LINE_COLORS[0] },
          { name: 'free (kept)', key: 'glibc.freeBytes', values: DATA.glibc.freeBytes, color: LINE_COLORS[1] }
        ] });
    }
    document.body.setAttribute('data-rendered', 'true');
  } catch (e) {
    fail('report.js: ' + (e && e.stack ? e.stack : e));
  }
})();
