/* SPDX-License-Identifier: MIT */
#ifndef VMRD_SIM_SCENARIO_H
#define VMRD_SIM_SCENARIO_H

/* The named workloads vmrd-sim runs in the closed-loop world (sim_world.h). */

#include <stdint.h>

#include "sim_world.h"

/* Named workloads; demand (and its unmovable part, may be NULL) is a function of time. */
struct sim_scenario {
	const char *name;
	const char *what;
	uint64_t duration_usec;
	void (*setup)(struct sim_params *p);
	uint64_t (*demand)(uint64_t now_usec);
	uint64_t (*unmovable)(uint64_t now_usec);
};

/* One step of a scenario at the world's current time. */
void sim_scenario_step(const struct sim_scenario *sc, struct sim_world *w);

const struct sim_scenario *sim_scenario_find(const char *name);
const struct sim_scenario *sim_scenario_at(unsigned i); /* NULL past the end */

#endif
