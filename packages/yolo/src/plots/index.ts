// Run plots rendered as SVG and rasterised with sharp.
export { plotResults, gaussianSmooth, RESULT_PANELS } from './results.js';
export { plotLabels } from './labels.js';
export { plotImages, labelsToBoxes, predsToBoxes, type ImageBoxes, type PlotImagesOptions } from './batch.js';
export { plotPrCurve, plotMcCurve, plotConfusionMatrix } from './curves.js';
