import type { IInsighterBus, IProjectRef } from '@insighter/core';
import type { CommandRegistry } from '@lumino/commands';
import { ExternalCommandIDs } from './commands';

/** What `insighter:open-studio` gives back: the Studio in its main-area panel. */
interface IStudioPanel {
  node: HTMLElement;
  content: { select(toolId: string): void };
}

/**
 * The project the person works in: the last one a Studio announced on the
 * bus. Commands of a project's tool use it when they are given none.
 */
export class CurrentProject {
  private _project: IProjectRef | null = null;

  constructor(bus: IInsighterBus) {
    bus.projectSelected.connect((_, selected) => {
      this._project = selected.project;
    });
    bus.projectDeleted.connect((_, deleted) => {
      if (this._project?.projectId === deleted.projectId) {
        this._project = null;
      }
    });
  }

  get project(): IProjectRef | null {
    return this._project;
  }
}

/**
 * Opens a project's Studio (by `{id}` or `{slug}`, else the current project)
 * on one tool's section. Throws, in words for people, when there is no
 * project to open.
 */
export async function openStudioTool(
  commands: CommandRegistry,
  args: { id?: unknown; slug?: unknown },
  toolId: string,
  current: CurrentProject,
  noProjectMessage: string
): Promise<{ projectId: string }> {
  const id = typeof args.id === 'string' && args.id ? args.id : null;
  const slug = typeof args.slug === 'string' && args.slug ? args.slug : null;
  const projectId = id ?? (slug ? null : (current.project?.projectId ?? null));
  if (!projectId && !slug) {
    throw new Error(noProjectMessage);
  }
  const panel = (await commands.execute(
    ExternalCommandIDs.openStudio,
    projectId ? { id: projectId } : { slug }
  )) as IStudioPanel;
  panel.content.select(toolId);
  // The Studio panel names its project: a slug is resolved by now.
  return { projectId: panel.node.dataset.projectId ?? projectId ?? '' };
}
