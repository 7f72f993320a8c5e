// Layers of packages/yolo/src, lowest first (ARCHITECTURE.md). A module may import its own folder and
// folders of lower layers only: no upward import, hence no cycle between folders. `make test` checks it.
const LAYERS = [
  ['util'], // Python-compatible numbers, colours, files shipped with the package, CSV tables, run folders
  ['portable'], // pre/post-processing without Node or libtorch (also bundled for the browser)
  ['onnx', 'boxes'], // ONNX protobuf and file metadata; box maths and NMS on tensors
  ['metrics', 'models', 'data', 'distributed'],
  ['loss', 'plots'],
  ['detect'], // inference: Detector, ensembles, TTA, sources, the ONNX Runtime backend
  ['engine'], // training, validation
  ['evolve', 'export', 'serve'],
  ['cli'],
];
const SRC = '^packages/yolo/src/';
const rank = new Map(LAYERS.flatMap((folders, r) => folders.map((f) => [f, r])));

const layerRules = [...rank].map(([folder, r]) => {
  const notBelow = [...rank].filter(([f, rr]) => f !== folder && rr >= r).map(([f]) => f);
  return {
    name: `layer-${folder}`,
    comment: `${folder}/ (layer ${r}) may import only its own folder and lower layers`,
    severity: 'error',
    from: { path: `${SRC}${folder}/` },
    to: { path: notBelow.length ? `${SRC}(${notBelow.join('|')})/|${SRC}index\\.ts$` : `${SRC}index\\.ts$` },
  };
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-folder-outside-layers',
      comment: 'every folder of packages/yolo/src has a layer in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: `${SRC}(?!(${[...rank.keys()].join('|')})/)[^/]+/` },
      to: {},
    },
    {
      name: 'torch-does-not-import-yolo',
      severity: 'error',
      from: { path: '^packages/torch/' },
      to: { path: '^packages/yolo/' },
    },
    {
      name: 'no-shared-folder',
      comment: 'the repository must not depend on ../shared at run or test time',
      severity: 'error',
      from: {},
      to: { path: '(^|/)shared/' },
    },
    {
      name: 'no-circular',
      comment: 'no import cycle between modules (type-only imports, erased at run time, aside)',
      severity: 'error',
      from: { path: '^packages/' },
      to: { circular: true, dependencyTypesNot: ['type-only'], viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    exclude: { path: '(^|/)dist/' },
  },
};
