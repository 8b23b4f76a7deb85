export * from './finding.js';
export * from './parsers/index.js';
export { mergeFindings, severityCounts, severityRank, type MergedFinding } from './merge.js';
export { toSarif, SARIF_SCHEMA_URI, FINGERPRINT_KEY, type SarifOptions } from './sarif-export.js';
export { ENGINE_NAMES, DEFAULT_ENGINE_FOR, enginesFor } from './runner/engine-names.js';
export { ENGINES, type EngineSpec } from './runner/engines.js';
export type { ScanReport } from './runner/main.js';
