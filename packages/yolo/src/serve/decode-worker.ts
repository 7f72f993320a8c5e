// A decode worker: decodes and letterboxes the images it is sent, one at a time, and sends the
// input back (its buffer transferred) or the HTTP error that refuses it.
import { parentPort } from 'node:worker_threads';
import { type DecodedInput, decodeInput, type InputSpec } from './decode.js';
import { type HttpErrorData, toErrorData } from './errors.js';

export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  spec: InputSpec;
}
export type DecodeReply = { id: number; input: DecodedInput } | { id: number; error: HttpErrorData };

const port = parentPort;
if (!port) throw new Error('decode-worker.js runs as a worker thread (serve/decode-pool.ts starts it)');

port.on('message', (req: DecodeRequest) => {
  decodeInput(req.bytes, req.spec).then(
    (input) => port.postMessage({ id: req.id, input } satisfies DecodeReply, [input.data.buffer as ArrayBuffer]),
    (e: unknown) => port.postMessage({ id: req.id, error: toErrorData(e) } satisfies DecodeReply),
  );
});
