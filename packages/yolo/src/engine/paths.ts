// Run directories as yolov5 names them: runs/train/exp, exp2, exp3, ... (the helpers live in util/, below
// detect/, which saves its runs there too).
export { checkImgSize, incrementPath } from '../util/paths.js';
