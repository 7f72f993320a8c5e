// Hyperparameter evolution: the GA loop and its pure parts (CSV, parent selection, mutation, lock).

export { emptyPopulation, formatPopulation, type Population, parsePopulation, rowHyp } from './csv.js';
export {
  EVOLVE_SALT,
  type EvolveOptions,
  type EvolveResult,
  type EvolveTrainFn,
  evolve,
  evolveBaseHyp,
  evolveDir,
  generationResults,
} from './evolve.js';
export { type LockOptions, withFileLock } from './lock.js';
export { MUTATION_KEYS, MUTATION_META, type MutationLimit, mutationLimit, RESULT_COLUMNS } from './meta.js';
export { constrainHyp, type MutationOptions, mutate, mutationFactors, randn, round5 } from './mutate.js';
export { bestOf, type EvolveBest, type EvolveMetrics, evolvedYaml } from './report.js';
export { bestRowIndex, type ParentSelection, rowFitness, selectParent, topRows } from './select.js';
export { addGeneration, EVOLVE_CSV, EVOLVED_YAML, readPopulation } from './store.js';
