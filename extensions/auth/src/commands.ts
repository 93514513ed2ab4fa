/** Every account action is one of these commands (palette, sidebar and views reuse them). */
export namespace CommandIDs {
  export const openHome = 'insighter:open-home';
  export const login = 'insighter:login';
  export const signup = 'insighter:signup';
  export const forgotPassword = 'insighter:forgot-password';
  export const logout = 'insighter:logout';
  export const openOutbox = 'insighter:open-outbox';
  export const openProfile = 'insighter:open-profile';
  export const openTeams = 'insighter:open-teams';
}

/** Commands of JupyterLab plugins this package runs. */
export namespace ExternalCommandIDs {
  export const openSettingEditor = 'settingeditor:open';
  /** `@insighter/projects`' dashboard: when installed, it is the signed-in home. */
  export const openDashboard = 'insighter:open-dashboard';
}
