// Real-hypervisor replay: public entry points for the main CLI.
export { runReal, runScenarios, type RealResult, type RealOptions, RealUnavailable } from './run.js';
export { realFuzz, generateScenario, minimizeReal, type FuzzReport, type RealFuzzOptions } from './fuzz.js';
export { compileScenario, type Compiled, type Accel } from './compile.js';
export { judgeScenario, type JudgeResult } from './judge.js';
export { buildGuest } from './build.js';
export { realMain, USAGE as REAL_USAGE } from './main.js';
