/**
 * Option records the constructors share (internal: not re-exported by the barrel).
 *
 * @since 0.2.0
 */
import type { Schedule, Units } from '../types.js'

export interface UnitsOption {
  /** 'rms' reads the parameter per value (× √N). Default 'absolute'. */
  readonly units?: Units
}

export interface StepSizeOptions extends UnitsOption {
  /** How the step size decays over the iterations. Default `constant()`. */
  readonly schedule?: Schedule
}
