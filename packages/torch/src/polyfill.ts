// Node 20 has no Symbol.dispose yet; TypeScript's `using` looks it up at run time.
const sym = Symbol as unknown as { dispose?: symbol; asyncDispose?: symbol };
sym.dispose ??= Symbol.for('Symbol.dispose');
sym.asyncDispose ??= Symbol.for('Symbol.asyncDispose');

export {};
