import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { IStudioSectionFactory, IStudioSections } from './tokens';

/** The registered Studio sections, by tool id. */
export class StudioSections implements IStudioSections {
  private readonly _factories = new Map<string, IStudioSectionFactory>();
  private readonly _changed = new Signal<this, string>(this);

  get changed(): ISignal<this, string> {
    return this._changed;
  }

  register(factory: IStudioSectionFactory): IDisposable {
    if (this._factories.has(factory.toolId)) {
      // Two extensions claiming one tool is a packaging mistake: say so.
      throw new Error(
        `The Studio section of tool "${factory.toolId}" is registered already.`
      );
    }
    this._factories.set(factory.toolId, factory);
    this._changed.emit(factory.toolId);
    return new DisposableDelegate(() => {
      if (this._factories.get(factory.toolId) === factory) {
        this._factories.delete(factory.toolId);
        this._changed.emit(factory.toolId);
      }
    });
  }

  get(toolId: string): IStudioSectionFactory | undefined {
    return this._factories.get(toolId);
  }
}
