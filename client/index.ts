// The package's client entry: the typed client of the loopback API and the schemas it speaks.
export { ConductorClient, type CallOptions, type ConductorClientOptions, HOST_UNAVAILABLE_MESSAGE, type RelayInput } from './client.js';
export { formatCircuitTable, type CircuitTableOptions } from './format.js';
export * from '../shared/api.js';
export * from '../shared/jobs.js';
export * from '../shared/conversations.js';
export { ConductorError, ERROR_TABLE, type ErrorCode, isConductorError } from '../shared/errors.js';
