// Python's number rounding and formatting, which yolov5's file formats and numbers follow: round()
// (half to even, on the exact binary value), '%g'. Pure TypeScript (no Node, no libtorch): the browser
// bundle (src/portable) uses it too.

/** Python's round(x) / C's rint(): the nearest integer, exact halves to the even one. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Python's '%g' (6 significant digits, exponent form below 1e-4 or from 1e6). */
export function formatG(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const exp = Number(x.toExponential(5).split('e')[1]);
  if (exp < -4 || exp >= 6) {
    const [m, e] = x.toExponential(5).split('e');
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const en = Number(e);
    return `${mant}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
  }
  const s = x.toFixed(Math.max(0, 5 - exp));
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** Python's round(x, nd): the exact binary value rounded to nd decimals, exact ties to even. */
export function pyRound(x: number, nd: number): number {
  if (!Number.isFinite(x) || Math.abs(x) >= 1e21) return x;
  const exact = x.toFixed(100); // toFixed works on the exact value of x
  const dot = exact.indexOf('.');
  const rest = exact.slice(dot + 1 + nd);
  if (/^50*$/.test(rest)) {
    // an exact tie: keep the truncated value when its last digit is even, else step away from zero
    const trunc = exact.slice(0, dot + 1 + nd);
    const last = Number(trunc[trunc.length - 1] === '.' ? trunc[trunc.length - 2] : trunc[trunc.length - 1]);
    const t = Number(trunc);
    return last % 2 === 0 ? t : Number((t + Math.sign(x) * 10 ** -nd).toFixed(nd));
  }
  return Number(x.toFixed(nd));
}

/** Python's '%20.5g'. */
export function g5(v: number): string {
  let s: string;
  if (v === 0) s = '0';
  else {
    const exp = Math.floor(Math.log10(Math.abs(v)));
    if (exp < -4 || exp >= 5) {
      s = v.toExponential(4).replace(/\.?0+e/, 'e');
      s = s.replace(/e([+-])(\d)$/, 'e$10$2');
    } else {
      s = Number(v.toPrecision(5)).toString();
    }
  }
  return s.padStart(20);
}
