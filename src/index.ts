// The package's public API: what a hypervisor developer needs to model their own code as a
// backend (`import type { Backend } from 'irqdiff'`) and to run scenarios against it.
export type { Backend, BackendInstance, CauseDoc, ObsSink, VariantInfo, VcpuWhere } from './backends/api.js';
export type { Event, MachineConfig, Scenario } from './scenario/types.js';
export { BACKENDS } from './backends/registry.js';
export { BackendModuleError, declarationProblem, loadBackendModule } from './backends/load.js';
export { runScenario } from './engine/session.js';
