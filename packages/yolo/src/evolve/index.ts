// Hyperparameter evolution: the GA loop and its pure parts (CSV, parent selection, mutation, lock).
export { evolve, evolveBaseHyp, evolveDir, generationResults, EVOLVE_SALT, type EvolveOptions, type EvolveResult, type EvolveTrainFn } from './evolve.js';
export { MUTATION_META, MUTATION_KEYS, RESULT_COLUMNS, mutationLimit, type MutationLimit } from './meta.js';
export { emptyPopulation, formatPopulation, parsePopulation, rowHyp, type Population } from './csv.js';
export { selectParent, bestRowIndex, rowFitness, topRows, type ParentSelection } from './select.js';
export { mutate, mutationFactors, constrainHyp, randn, round5, type MutationOptions } from './mutate.js';
export { withFileLock, type LockOptions } from './lock.js';
export { addGeneration, readPopulation, EVOLVE_CSV, EVOLVED_YAML } from './store.js';
export { bestOf, evolvedYaml, type EvolveBest, type EvolveMetrics } from './report.js';
