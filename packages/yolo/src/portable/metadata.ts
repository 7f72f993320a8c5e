// The model metadata yolov5 writes into exported files: `stride` ("32", or a list) and `names`, the
// Python repr of a dict ({0: 'person', 1: 'bicycle'}) or a list. A small reader for those Python literals
// (dicts, lists, tuples, ints, quoted strings with Python's escapes); JSON lists and objects parse too.

type PyValue = string | number | PyValue[] | Map<number | string, PyValue>;

class LiteralReader {
  i = 0;
  constructor(readonly s: string) {}

  fail(what: string): never {
    throw new Error(
      `${what} at character ${this.i} of ${JSON.stringify(this.s.length > 80 ? `${this.s.slice(0, 80)}…` : this.s)}`,
    );
  }
  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }
  value(): PyValue {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.dict();
    if (c === '[' || c === '(') return this.list(c === '[' ? ']' : ')');
    if (c === "'" || c === '"') return this.str();
    if (c !== undefined && /[-+0-9]/.test(c)) return this.num();
    return this.fail(c === undefined ? 'unexpected end' : `unexpected '${c}'`);
  }
  num(): number {
    const m = /^[-+]?(\d+\.?\d*(e[-+]?\d+)?)/i.exec(this.s.slice(this.i));
    if (!m) this.fail('a number expected');
    this.i += m[0].length;
    return Number(m[0]);
  }
  str(): string {
    const q = this.s[this.i++];
    let out = '';
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) this.fail('unterminated string');
      if (c === q) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.i++];
      const hex = (len: number): string => {
        const h = this.s.slice(this.i, this.i + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) this.fail(`bad \\${e} escape`);
        this.i += len;
        return String.fromCodePoint(parseInt(h, 16));
      };
      const simple: Record<string, string> = {
        '\\': '\\',
        "'": "'",
        '"': '"',
        n: '\n',
        r: '\r',
        t: '\t',
        b: '\b',
        f: '\f',
        v: '\v',
        a: '\x07',
        '0': '\0',
        '/': '/',
      };
      if (e === 'x') out += hex(2);
      else if (e === 'u') out += hex(4);
      else if (e === 'U') out += hex(8);
      else if (e !== undefined && e in simple) out += simple[e];
      else this.fail(`unsupported escape \\${e ?? ''}`);
    }
  }
  list(close: string): PyValue[] {
    this.i++;
    const out: PyValue[] = [];
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return out;
      }
      out.push(this.value());
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== close) this.fail(`',' or '${close}' expected`);
    }
  }
  dict(): Map<number | string, PyValue> {
    this.i++;
    const out = new Map<number | string, PyValue>();
    for (;;) {
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return out;
      }
      const k = this.value();
      if (typeof k !== 'number' && typeof k !== 'string') this.fail('a number or string key expected');
      this.ws();
      if (this.s[this.i++] !== ':') this.fail("':' expected");
      out.set(k, this.value());
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== '}') this.fail("',' or '}' expected");
    }
  }
  end(): void {
    this.ws();
    if (this.i !== this.s.length) this.fail('unexpected text after the value');
  }
}

/** A Python literal (as repr() writes dicts, lists, ints and strings): strings, numbers, arrays, Maps. */
export function parsePythonLiteral(s: string): PyValue {
  const r = new LiteralReader(s);
  const v = r.value();
  r.end();
  return v;
}

/**
 * Class names from yolov5's `names` metadata: {0: 'person', 1: 'bicycle'} (keys are class indices; a
 * missing index is named class<i>) or ['person', 'bicycle']. Throws on anything else.
 */
export function parseNames(s: string): string[] {
  let v: PyValue;
  try {
    v = parsePythonLiteral(s);
  } catch (e) {
    throw new Error(`names: not a Python dict or list literal (${(e as Error).message})`);
  }
  if (Array.isArray(v)) {
    if (!v.every((x) => typeof x === 'string')) throw new Error('names: a list of strings expected');
    return v as string[];
  }
  if (!(v instanceof Map)) throw new Error('names: a dict {index: name} or a list expected');
  let nc = 0;
  for (const [k, x] of v) {
    const idx = typeof k === 'number' ? k : Number(k);
    if (!Number.isInteger(idx) || idx < 0) throw new Error(`names: key ${JSON.stringify(k)} is not a class index`);
    if (typeof x !== 'string') throw new Error(`names: the name of class ${idx} is not a string`);
    nc = Math.max(nc, idx + 1);
  }
  return Array.from({ length: nc }, (_, i) => {
    const x = v.get(i) ?? v.get(String(i));
    return typeof x === 'string' ? x : `class${i}`;
  });
}

/** The largest stride from yolov5's `stride` metadata ("32", "32.0" or a list such as "[8, 16, 32]"). */
export function parseStride(s: string): number {
  let v: PyValue;
  try {
    v = parsePythonLiteral(s);
  } catch (e) {
    throw new Error(`stride: not a number or list (${(e as Error).message})`);
  }
  const xs = Array.isArray(v) ? v : [v];
  if (!xs.length || !xs.every((x) => typeof x === 'number' && x > 0 && Number.isInteger(x)))
    throw new Error(`stride: ${JSON.stringify(s)} is not a positive integer or a list of them`);
  return Math.max(...(xs as number[]));
}
