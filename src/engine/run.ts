// Entry point for running one scenario end to end (see session.ts).
export { runScenario, Session, type RunResult } from './session.js';
