/** One line of a chart: its name and its points. */
export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c'];
const WIDTH = 640;
const HEIGHT = 360;
const PAD = { left: 70, right: 160, top: 40, bottom: 50 };

const niceMax = (value: number) => {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((step) => step * power).find((max) => max >= value)!;
};

/**
 * A line chart as a self-contained SVG file (no dependencies), for docs/BENCHMARKS.md. `logY`
 * for values that span decades (latencies from milliseconds to seconds).
 */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
  { logY = false } = {},
): string {
  const points = series.flatMap((line) => line.points);
  const xMax = niceMax(Math.max(...points.map((point) => point.x)));
  const yMax = logY
    ? 10 ** Math.ceil(Math.log10(Math.max(10, ...points.map((point) => point.y))))
    : niceMax(Math.max(...points.map((point) => point.y)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (value: number) => PAD.left + (value / xMax) * plotW;
  const fraction = (value: number) =>
    logY ? Math.log10(Math.max(1, value)) / Math.log10(yMax) : value / yMax;
  const y = (value: number) => PAD.top + plotH - fraction(value) * plotH;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const yTicks = logY
    ? Array.from({ length: Math.log10(yMax) + 1 }, (_, power) => 10 ** power)
    : ticks.map((tick) => tick * yMax);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`,
    ...yTicks.map(
      (value) =>
        `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y(value)}" y2="${y(value)}" stroke="#e5e7eb"/>` +
        `<text x="${PAD.left - 8}" y="${y(value) + 4}" text-anchor="end">${format(value)}</text>`,
    ),
    ...ticks.map(
      (tick) =>
        `<text x="${x(tick * xMax)}" y="${PAD.top + plotH + 18}" text-anchor="middle">${format(tick * xMax)}</text>`,
    ),
    `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#111"/>`,
    `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" stroke="#111"/>`,
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
  ];
  series.forEach((line, index) => {
    const colour = COLOURS[index % COLOURS.length];
    const path = line.points.map((point) => `${x(point.x)},${y(point.y)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${path}"/>`);
    for (const point of line.points) {
      parts.push(`<circle cx="${x(point.x)}" cy="${y(point.y)}" r="3" fill="${colour}"/>`);
    }
    const legendY = PAD.top + 10 + index * 20;
    parts.push(
      `<line x1="${WIDTH - PAD.right + 15}" x2="${WIDTH - PAD.right + 35}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${WIDTH - PAD.right + 40}" y="${legendY + 4}">${escape(line.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function format(value: number): string {
  if (value >= 1000) return `${Number((value / 1000).toFixed(1))}k`;
  return String(Number(value.toFixed(value < 10 ? 2 : 0)));
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
