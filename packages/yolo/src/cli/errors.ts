// What the command line prints for an error: the message, and for the system errors a user can act
// on (a full disk, missing permissions, a read-only file system, ...) what happened and what to do.

/** A Node.js system error (fs, child processes): a code such as 'ENOSPC', maybe the path and syscall. */
interface SystemError extends Error {
  code: string;
  path?: string;
  syscall?: string;
}

const ADVICE: Record<string, string> = {
  ENOSPC: 'the disk is full: free some space, or write the results to another disk (--project, --out)',
  EDQUOT: 'the disk quota is exhausted: free some space, or write the results elsewhere (--project, --out)',
  EACCES: 'permission denied: check the permissions of the file and its folder, or use another path (--project, --out)',
  EPERM:
    'operation not permitted: check the permissions of the file and its folder, or use another path (--project, --out)',
  EROFS: 'the file system is read-only: write the results elsewhere (--project, --out)',
  EISDIR: 'a folder was given where a file is expected',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EMFILE: 'too many open files: raise the limit (ulimit -n) or use fewer --workers',
  ENFILE: 'too many open files on the system: use fewer --workers',
};

function isSystemError(e: unknown): e is SystemError {
  return e instanceof Error && 'code' in e && typeof e.code === 'string';
}

/** The message of an error for the user; system errors get what happened and what to do. */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (!isSystemError(e)) return e.message;
  const advice = ADVICE[e.code];
  if (!advice) return e.message;
  const where = e.path && !e.message.includes(e.path) ? ` (${e.path})` : '';
  return `${e.message}${where}: ${advice}`;
}
