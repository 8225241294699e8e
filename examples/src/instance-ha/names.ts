/** The group the compute services join. */
export const COMPUTE_GROUP = "compute";

/** The reactor's name: its election is `reactor.instance-ha`, its progress under `instance-ha/` in `rollcall.reactor`. */
export const REACTOR_NAME = "instance-ha";
