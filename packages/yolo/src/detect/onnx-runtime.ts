// onnxruntime-node, imported on first use: its native library is loaded only when an ONNX model runs.
type Ort = typeof import('onnxruntime-node');

let ortModule: Ort | null = null;

/** The onnxruntime-node module; `purpose` and `alternative` complete the error when it cannot be loaded. */
export async function loadOnnxRuntime(purpose = 'to run an ONNX model', alternative = ''): Promise<Ort> {
  if (!ortModule) {
    let m: Ort & { default?: Ort };
    try {
      m = (await import('onnxruntime-node')) as Ort & { default?: Ort };
    } catch (e) {
      throw new Error(
        `ONNX Runtime is needed ${purpose}, and onnxruntime-node cannot be loaded (${(e as Error).message}); install it (npm install onnxruntime-node)${alternative}`,
      );
    }
    ortModule = m.default ?? m;
  }
  return ortModule;
}
