// Colours shared by the annotated detections and the plots.

// yolov5's colour palette (by class index)
const PALETTE = [
  'FF3838',
  'FF9D97',
  'FF701F',
  'FFB21D',
  'CFD231',
  '48F90A',
  '92CC17',
  '3DDB86',
  '1A9334',
  '00D4BB',
  '2C99A8',
  '00C2FF',
  '344593',
  '6473FF',
  '0018EC',
  '8438FF',
  '520085',
  'CB38FF',
  'FF95C8',
  'FF37C7',
];

/** The colour of class cls, as '#RRGGBB'. */
export function classColor(cls: number): string {
  return `#${PALETTE[cls % PALETTE.length]}`;
}
