// For handlers that must exist but have nothing to do (a rejection nobody may wait for, a socket error the close reports).
export const noop = (): void => {};
