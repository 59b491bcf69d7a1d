import { define } from '../shared/define.js';
import { MotoreachBadge } from './badge.js';

define('motoreach-badge', MotoreachBadge);
