/** The release of this tree, reported by every binary's --version, agent ping and the API. */
export const VERSION = '0.1.0';
