// The system's ffmpeg and ffprobe: finding them on PATH, the error when they are missing, running
// them to completion, and the H.264 encoder when the build has one.
import { spawn, spawnSync } from 'node:child_process';

export type FfTool = 'ffmpeg' | 'ffprobe';

const found = new Map<FfTool, boolean>();

/** Whether `ffmpeg -version` (or ffprobe) runs (cached per process). */
export function hasTool(tool: FfTool): boolean {
  let ok = found.get(tool);
  if (ok === undefined) {
    const r = spawnSync(tool, ['-version'], { stdio: 'ignore' });
    ok = !r.error && r.status === 0;
    found.set(tool, ok);
  }
  return ok;
}

/** Throws, naming the video, when ffmpeg or ffprobe is not on PATH. */
export function requireFfmpeg(file: string): void {
  const missing = (['ffmpeg', 'ffprobe'] as const).filter((t) => !hasTool(t));
  if (missing.length) {
    throw new Error(
      `${file}: reading videos needs ${missing.join(' and ')}, not found on PATH; install ffmpeg (e.g. apt-get install ffmpeg, brew install ffmpeg)`,
    );
  }
}

/** The last non-empty lines of a tool's stderr, for error messages (without the `file: ` prefix ffmpeg adds, as the caller names the file). */
export function lastLines(stderr: string, file?: string, n = 2): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n);
  return lines.map((l) => (file && l.startsWith(`${file}: `) ? l.slice(file.length + 2) : l)).join('; ');
}

/** Runs a tool to completion; resolves stdout, rejects with `${file}: ${what}: <stderr>` on failure. */
export function runTool(tool: FfTool, args: string[], file: string, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => {
      err = (err + c.toString()).slice(-8192);
    });
    p.on('error', (e) =>
      reject(
        new Error(`${file}: ${what}: cannot run ${tool}: ${e.message}; install ffmpeg (e.g. apt-get install ffmpeg)`),
      ),
    );
    p.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new Error(`${file}: ${what}: ${lastLines(err, file) || `${tool} exited with ${code ?? signal}`}`));
    });
  });
}

let encoder: string | undefined;

/** libx264 when this ffmpeg build has it, else the built-in mpeg4 encoder. */
export function videoEncoder(): string {
  if (encoder === undefined) {
    const r = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' });
    encoder = /^\s*V\S*\s+libx264\s/m.test(r.stdout ?? '') ? 'libx264' : 'mpeg4';
  }
  return encoder;
}
