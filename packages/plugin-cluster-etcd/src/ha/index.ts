/**
 * The HA manager's configuration (Proxmox's `ha/resources.cfg`, `ha/groups.cfg`,
 * `ha/rules.cfg`): parsers, writers, typed model and an `ha-manager`-like facade.
 *
 * @packageDocumentation
 */
export { HA_LIST_LIMIT, type HaNodePriority } from './haValues.js';
export { HA_RESOURCES_PATH, parseHaResources, serializeHaResources, toHaResource, type HaResourceEntry, type HaStateWritten } from './haResourcesConfig.js';
export { HA_GROUPS_PATH, HA_GROUP_ID_RE, parseHaGroups, serializeHaGroups, type HaGroupEntry } from './haGroupsConfig.js';
export { HA_RULES_PATH, parseHaRules, serializeHaRules, type HaRuleEntry, type HaNodeAffinityRule, type HaResourceAffinityRule } from './haRulesConfig.js';
export { HaConfigManager, type HaConfigManagerOptions, type HaGuestLister, type HaResourceChange } from './HaConfigManager.js';
