// Run plots rendered as SVG and rasterised with sharp.

export { type ImageBoxes, labelsToBoxes, type PlotImagesOptions, plotImages, predsToBoxes } from './batch.js';
export { plotConfusionMatrix, plotMcCurve, plotPrCurve } from './curves.js';
export { plotLabels } from './labels.js';
export { gaussianSmooth, plotResults, RESULT_PANELS } from './results.js';
