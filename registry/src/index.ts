import Ajv2020, {
  type ErrorObject,
  type ValidateFunction
} from 'ajv/dist/2020';
import * as fs from 'fs';

/**
 * The tool registry: one manifest (`tools.json`, validated by
 * `tools.schema.json`) from which the frontend builds the sidebar, the Studio
 * sections and the launcher, and the sidecar lists its mounted tools.
 *
 * Browser-safe: the manifest and schema are bundled through `require`, and
 * `fs` is only touched when a manifest file is named (the package's `browser`
 * field maps it away for webpack).
 */

export type ToolStatus = 'available' | 'planned';

export interface StudioSection {
  id: string;
  label: string;
  order: number;
}

export interface ToolEntry {
  id: string;
  label: string;
  /** A LabIcon name, e.g. `ui-components:spreadsheet`. */
  icon: string;
  description: string;
  /** The npm package of the JupyterLab extension that implements the tool. */
  extension: string;
  /** `planned`: the extension is not built yet; the UI says "coming soon". */
  status: ToolStatus;
  /** The command that opens the tool, e.g. `insighter:open-data`. */
  command: string;
  studio: { section: string; order: number };
  /** The sidecar route prefix that serves the tool, e.g. `/api/v1/datasets`. */
  routes: string;
  /** Its place in the sidebar, between Projects and Settings; absent: Studio only. */
  sidebar?: { order: number };
  /** Whether the launcher shows a card opening the tool's global view. */
  launcher?: boolean;
}

export interface ToolRegistry {
  version: 1;
  sections: StudioSection[];
  tools: ToolEntry[];
}

/** Why a manifest was refused; `problems` holds one line per bad entry or field. */
export class RegistryError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[]
  ) {
    super(
      `The tool manifest ${source} is invalid:\n- ${problems.join('\n- ')}`
    );
    this.name = 'RegistryError';
  }
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const BUNDLED_MANIFEST: unknown = require('../tools.json');
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const TOOLS_SCHEMA: Record<
  string,
  unknown
> = require('../tools.schema.json');

/** The manifest shipped with this package, as the type says (validated by its tests). */
export const manifest: ToolRegistry = BUNDLED_MANIFEST as ToolRegistry;

let compiled: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  // `verbose` keeps each failing keyword's schema, whose description explains the rule.
  compiled ??= new Ajv2020({ allErrors: true, verbose: true }).compile(
    TOOLS_SCHEMA
  );
  return compiled;
}

/**
 * Checks a parsed manifest against the schema and the rules a schema cannot
 * state (unique ids, commands and routes; sections that exist). Returns a
 * copy; throws `RegistryError` naming every bad entry.
 */
export function validateRegistry(
  data: unknown,
  source = '(in memory)'
): ToolRegistry {
  const validate = schemaValidator();
  if (!validate(data)) {
    throw new RegistryError(
      source,
      describeSchemaErrors(validate.errors ?? [], data)
    );
  }
  const registry = structuredClone(data) as ToolRegistry;
  const problems = crossEntryProblems(registry);
  if (problems.length) {
    throw new RegistryError(source, problems);
  }
  return registry;
}

/**
 * The validated manifest: the bundled one, or the JSON file at `file`
 * (Node only), e.g. a deployment's own manifest with extra tools.
 */
export function loadRegistry(file?: string): ToolRegistry {
  if (file === undefined) {
    return validateRegistry(BUNDLED_MANIFEST, '(bundled tools.json)');
  }
  if (typeof fs.readFileSync !== 'function') {
    throw new Error(
      'Reading a tool manifest from a file needs Node.js; in the browser use `manifest`.'
    );
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new RegistryError(file, [
      `cannot be read: ${(err as Error).message}`
    ]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new RegistryError(file, [
      `is not valid JSON: ${(err as Error).message}`
    ]);
  }
  return validateRegistry(data, file);
}

/** The manifest file this package ships (Node only). */
export function bundledManifestPath(): string {
  return `${__dirname}/../tools.json`;
}

export interface StudioLayoutSection extends StudioSection {
  tools: ToolEntry[];
}

/** Sections in order, each with its tools in order (ties broken by id, so it is stable). */
export function studioLayout(registry: ToolRegistry): StudioLayoutSection[] {
  const byOrder = <T extends { order: number; id: string }>(a: T, b: T) =>
    a.order - b.order || a.id.localeCompare(b.id);
  return [...registry.sections].sort(byOrder).map(section => ({
    ...section,
    tools: registry.tools
      .filter(tool => tool.studio.section === section.id)
      .sort((a, b) =>
        byOrder({ ...a.studio, id: a.id }, { ...b.studio, id: b.id })
      )
  }));
}

/** Every tool in Studio order: by section, then within it. */
export function toolsInOrder(registry: ToolRegistry): ToolEntry[] {
  return studioLayout(registry).flatMap(section => section.tools);
}

/** The tools with a sidebar entry, in sidebar order (ties broken by id). */
export function sidebarTools(registry: ToolRegistry): ToolEntry[] {
  const order = (tool: ToolEntry) => tool.sidebar?.order ?? 0;
  return registry.tools
    .filter(tool => tool.sidebar !== undefined)
    .sort((a, b) => order(a) - order(b) || a.id.localeCompare(b.id));
}

/**
 * The tools with a launcher card: those in the sidebar in sidebar order, then
 * the others in Studio order.
 */
export function launcherTools(registry: ToolRegistry): ToolEntry[] {
  const inSidebar = sidebarTools(registry);
  const rest = toolsInOrder(registry).filter(tool => !tool.sidebar);
  return [...inSidebar, ...rest].filter(tool => tool.launcher === true);
}

function crossEntryProblems(registry: ToolRegistry): string[] {
  const problems: string[] = [];
  const duplicates = (what: string, values: string[], names: string[]) => {
    const seen = new Map<string, string>();
    values.forEach((value, i) => {
      const first = seen.get(value);
      if (first !== undefined) {
        problems.push(
          `${names[i]}: ${what} "${value}" is already used by ${first}`
        );
      } else {
        seen.set(value, names[i]);
      }
    });
  };
  const sectionNames = registry.sections.map(
    (s, i) => `section "${s.id}" (sections[${i}])`
  );
  duplicates(
    'the id',
    registry.sections.map(s => s.id),
    sectionNames
  );
  const toolNames = registry.tools.map((t, i) => toolName(t.id, i));
  duplicates(
    'the id',
    registry.tools.map(t => t.id),
    toolNames
  );
  duplicates(
    'the command',
    registry.tools.map(t => t.command),
    toolNames
  );
  duplicates(
    'the route prefix',
    registry.tools.map(t => t.routes),
    toolNames
  );
  const sectionIds = new Set(registry.sections.map(s => s.id));
  registry.tools.forEach((tool, i) => {
    if (!sectionIds.has(tool.studio.section)) {
      problems.push(
        `${toolNames[i]}: "studio.section" is "${tool.studio.section}", which is not one of the ` +
          `sections (${[...sectionIds].map(s => `"${s}"`).join(', ')})`
      );
    }
  });
  return problems;
}

function toolName(id: unknown, index: number): string {
  return typeof id === 'string'
    ? `tool "${id}" (tools[${index}])`
    : `tools[${index}]`;
}

/** Ajv's errors as lines a person can act on, each naming the entry it is about. */
function describeSchemaErrors(errors: ErrorObject[], data: unknown): string[] {
  const lines = errors.map(error => {
    const segments = error.instancePath.split('/').slice(1).map(decodePointer);
    let subject = 'the manifest';
    let rest = segments;
    if (
      (segments[0] === 'tools' || segments[0] === 'sections') &&
      segments.length >= 2
    ) {
      const index = Number(segments[1]);
      const entry = (data as Record<string, unknown[]>)[segments[0]]?.[
        index
      ] as { id?: unknown } | undefined;
      subject =
        segments[0] === 'tools'
          ? toolName(entry?.id, index)
          : typeof entry?.id === 'string'
            ? `section "${entry.id}" (sections[${index}])`
            : `sections[${index}]`;
      rest = segments.slice(2);
    }
    const field = rest.length ? `"${rest.join('.')}" ` : '';
    return `${subject}: ${field}${explain(error)}`;
  });
  return [...new Set(lines)];
}

function explain(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  // A pattern alone rarely tells people what to write: the rule's description does.
  const hint =
    typeof (error.parentSchema as { description?: unknown } | undefined)
      ?.description === 'string'
      ? ` (${(error.parentSchema as { description: string }).description})`
      : '';
  switch (error.keyword) {
    case 'required':
      return `is missing "${String(params.missingProperty)}"`;
    case 'additionalProperties':
      return `has an unknown field "${String(params.additionalProperty)}"`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map(v => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`;
    case 'pattern':
      return `must match ${String(params.pattern)}${hint}`;
    default:
      return error.message ?? 'is invalid';
  }
}

function decodePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
