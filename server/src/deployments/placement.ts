import path from 'node:path';
import { ProcessRunner } from '../jobs/process-runner';
import type { JobRunner } from '../jobs/runner';
import type { JobRunners } from '../jobs/runners';
import { Bubblewrap, SANDBOX_MISSING } from '../jobs/sandbox';
import { TRAINING_PYTHON_DIR } from '../jobs/training-package';

/**
 * Where a model server runs. A model's pickle runs whatever code it names,
 * so a worker that unpickles runs only in a sandbox: the Docker runner's
 * container where an engine answers (and jobs go to Docker), otherwise
 * bubblewrap; with neither, the deployment is refused. A model served from
 * the safe format (JSON, XGBoost's UBJSON: nothing in it can run) runs in
 * the same sandbox when there is one, and as a plain process otherwise.
 */
export type SandboxKind = 'docker' | 'bubblewrap' | 'none';

export interface ServingPlacement {
  runner: JobRunner;
  sandbox: SandboxKind;
}

export interface ServingRunners {
  /** A sandbox, or undefined when none answers. */
  sandboxed(): Promise<ServingPlacement | undefined>;
  /** For a model in the safe format: a sandbox when one answers, else a plain process. */
  safe(): Promise<ServingPlacement>;
  /** Ends a worker a sidecar before this one left (`ref` as recorded), if it is still that deployment's. */
  endLost(ref: string, marker: string): Promise<void>;
}

type EndsLost = JobRunner & {
  endLost?(ref: string, marker: string): Promise<boolean>;
};

/** What a refused deployment says: what to install. */
export const NO_SANDBOX_FOR_PICKLE = `This version was not trained by Insighter's jobs (or its files changed since), so its model can only run in a sandbox. ${SANDBOX_MISSING}`;

/** Model servers as local processes: in bubblewrap, or plain for safe models where bubblewrap cannot run. */
export function processServingRunners(
  dataDir: string,
  bwrap?: string
): ServingRunners {
  const workDir = path.join(dataDir, 'deployments');
  const sandboxed = new ProcessRunner({
    workDir,
    pythonPath: TRAINING_PYTHON_DIR,
    sandbox: new Bubblewrap(bwrap)
  });
  const plain = new ProcessRunner({ workDir, pythonPath: TRAINING_PYTHON_DIR });
  return fromCandidates(() => [sandboxed], plain, [sandboxed, plain]);
}

/** Model servers where jobs run: Docker first when jobs go there, bubblewrap otherwise (each the other's fallback). */
export function jobServingRunners(
  runners: JobRunners,
  dataDir: string
): ServingRunners {
  const plain = new ProcessRunner({
    workDir: path.join(dataDir, 'deployments'),
    pythonPath: TRAINING_PYTHON_DIR
  });
  return fromCandidates(
    async () => {
      const first = await runners.defaultKind();
      return first === 'docker'
        ? [runners.docker, runners.process]
        : [runners.process, runners.docker];
    },
    plain,
    [runners.process, runners.docker, plain]
  );
}

function fromCandidates(
  candidates: () => JobRunner[] | Promise<JobRunner[]>,
  plain: JobRunner,
  all: EndsLost[]
): ServingRunners {
  const sandboxed = async (): Promise<ServingPlacement | undefined> => {
    for (const runner of await candidates()) {
      if (runner instanceof ProcessRunner && !runner.sandboxed) {
        continue; // Not a sandbox at all.
      }
      if ((await runner.availability()).available) {
        return {
          runner,
          sandbox: runner.kind === 'docker' ? 'docker' : 'bubblewrap'
        };
      }
    }
    return undefined;
  };
  return {
    sandboxed,
    async safe() {
      return (await sandboxed()) ?? { runner: plain, sandbox: 'none' };
    },
    async endLost(ref, marker) {
      // A process's ref is `pid:<n>`, a container's its id: each runner knows its own.
      for (const runner of all) {
        if (await runner.endLost?.(ref, marker).catch(() => false)) {
          return;
        }
      }
    }
  };
}
