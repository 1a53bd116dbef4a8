export {
  createDashboardHandler,
  type DashboardAuth,
  type DashboardHandler,
  type DashboardOptions,
} from './handler';
export { type DashboardServer, type ServeDashboardOptions, serveDashboard } from './server';
