import t from 'tap';
import { lineChart, niceMax, percentiles } from './plot.js';

t.test('axis bounds and percentiles', async (t) => {
  t.same([niceMax(0), niceMax(0.7), niceMax(3), niceMax(42), niceMax(100), niceMax(101)], [1, 1, 5, 50, 100, 200]);
  t.same(percentiles([]), []);
  const p = percentiles([5, 1, 3, 2, 4]);
  t.equal(p.length, 100);
  t.same(p[0], [1, 1]);
  t.same(p[49], [50, 3], 'the median');
  t.same(p[99], [100, 5]);
});

t.test('a chart is well-formed SVG with one line per series, names escaped', async (t) => {
  const svg = lineChart({
    title: 'update <cost>',
    xLabel: 'repositories',
    yLabel: 'ms',
    logX: true,
    series: [
      { name: 'a & b', points: [[1000, 10], [10000, 20], [100000, 40]] },
      { name: 'c', points: [[1000, 5], [10000, 6], [100000, 7]] },
    ],
  });
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.equal(svg.match(/<polyline /g)?.length, 2);
  t.match(svg, /update &lt;cost&gt;/);
  t.match(svg, /a &amp; b/);
  t.match(svg, />100k</);
  t.match(svg, /<\/svg>\n$/);
});

t.test('many x values get round ticks and no dots', async (t) => {
  const svg = lineChart({ title: 't', xLabel: 'percentile', yLabel: 'ms', series: [{ name: 's', points: Array.from({ length: 100 }, (_, i) => [i + 1, i] as [number, number]) }] });
  const labels = [...svg.matchAll(/text-anchor="middle">(\d+)</g)].map((m) => Number(m[1]));
  t.same(labels, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  t.notMatch(svg, /<circle/);
});
