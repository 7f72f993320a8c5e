// Exits non-zero unless this Node.js is new enough for tsyolo.
const [major, minor] = process.versions.node.split('.').map(Number);
process.exit(major > 20 || (major === 20 && minor >= 12) ? 0 : 1);
