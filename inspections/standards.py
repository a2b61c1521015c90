"""The department's checklists, in the operating manual's own words (article 8 of the seed).

Each entry is a template: its kind, who fills it in, where it applies, and its items. The
demo loader and a fresh deployment publish these as version 1.
"""

from __future__ import annotations

from inspections.checklists import Definition

CLEANERS = ["cleaner", "supervisor", "customer_service"]
# Customer service, engineering and security each sign a fit-out acceptance.
ACCEPTORS = ["customer_service", "engineer", "guard", "supervisor"]


def _pf(item_id: str, label: str, standard: str = "", **extra) -> dict:
    return {"id": item_id, "label": label, "standard": standard, "type": "pass_fail", **extra}


def _rework(item_id: str, label: str, standard: str, weight: float = 1.0) -> dict:
    """A cleaning-standard item: a failure needs a photo and opens rework for the cleaners.
    ``weight`` counts in the area's score and in the points a failure costs (§3.6.8 2])."""
    return _pf(
        item_id,
        label,
        standard,
        photo_on_fail=True,
        weight=weight,
        on_fail={"ticket_kind": "rework", "department": "cleaning", "due_hours": 2},
    )


def _cleaning(key: str, area_type: str, title: str, section: str, items: list[dict]) -> dict:
    return {
        "key": key,
        "kind": "cleaning",
        "area_type": area_type,
        "department": "cleaning",
        "roles": CLEANERS,
        "title": title,
        "sections": [{"title": section, "items": items}],
    }


def _violation(item_id: str, label: str, standard: str, department: str) -> dict:
    return _pf(
        item_id,
        label,
        standard,
        photo_on_fail=True,
        on_fail={"ticket_kind": "violation", "department": department, "due_hours": 24},
    )


def _hazard(item_id: str, label: str, standard: str = "") -> dict:
    return _pf(
        item_id,
        label,
        standard,
        photo_on_fail=True,
        on_fail={"ticket_kind": "hazard", "department": "security", "due_hours": 4},
    )


STANDARD_TEMPLATES: list[dict] = [
    # §3.6.5 卫生清洁工作标准 1.走廊及入口区域 (and §3.6.4 2. 大堂入口处地面清洁)
    _cleaning(
        "cleaning_lobby",
        "lobby",
        "清洁标准：大堂及入口",
        "走廊及入口区域（§3.6.5 1）",
        [
            _rework("floor", "地面", "地面清洁，无污迹，无水痕，无纸屑。", 2),
            _rework("pillars", "柱面及防火门", "柱面无灰尘，防火门亦无灰尘。"),
            _rework("rails", "扶手梯、栏杆", "扶手梯、栏杆上无灰尘。"),
            _rework("chairs", "椅子、花盆", "场内椅子、花盆上无尘、无污。"),
            _rework("glass", "玻璃", "玻璃清洁无污迹，无水珠，无手印。", 2),
            _rework("bins", "垃圾箱", "垃圾箱经常保持清洁，无过多的垃圾，对垃圾筒进行定期消毒。"),
            _rework("signs", "指示牌", "指示牌上无灰尘。"),
        ],
    ),
    # §3.6.5 3.楼道清洁 1]–3]
    _cleaning(
        "cleaning_corridor",
        "corridor",
        "清洁标准：楼道",
        "楼道（§3.6.5 3）",
        [
            _rework("walls", "墙面及踢脚板", "楼道墙面干净，无污迹，踢脚板无尘土。"),
            _rework("vents", "空调风口", "楼道两侧及电梯间上方的四个空调风口无尘土。"),
            _rework("floor", "楼道地台", "楼道地台做到无杂物，无尘土。", 2),
        ],
    ),
    # §3.6.5 3 4) 电梯厅, §3.6.4 1 9] 电梯外的金属门, §3.6.4 4. 电梯清洁
    _cleaning(
        "cleaning_lift_hall",
        "lift_hall",
        "清洁标准：电梯厅及电梯",
        "电梯厅（§3.6.5 3 4)、§3.6.4 4）",
        [
            _rework("floor", "电梯厅地面", "电梯厅地面无污迹、水迹、无纸屑、尘土、毛发，清洁，光亮。", 2),
            _rework("doors", "电梯外金属门", "电梯外的金属门做到光洁，无水迹、无污渍。"),
            _rework("car_floor", "轿厢地面", "电梯之地板无纸屑等杂物，无脚印。"),
            _rework("car_walls", "轿厢不锈钢门及墙壁", "电梯之不锈钢门及内部墙壁光亮、无浮尘、无手印。"),
            _rework("ceiling", "轿厢天棚", "天棚无尘、无蜘蛛网。"),
        ],
    ),
    # §3.6.5 2.卫生间
    _cleaning(
        "cleaning_restroom",
        "restroom",
        "清洁标准：卫生间",
        "卫生间（§3.6.5 2）",
        [
            _rework("fixtures", "卫生洁具", "卫生洁具做到清洁，无水迹，无异味。", 2),
            _rework("mirrors", "镜子", "镜子明净，光亮，无灰尘，无污尘，无手印，无水迹。"),
            _rework("chrome", "电镀设备", "电镀设备保持光亮，无浮尘，无水迹，无锈斑。"),
            _rework("corners", "墙角及地面", "墙角四处保持干净，无蛛网、地面无脚印、无杂物。"),
            _rework("intact", "洁具齐全", "卫生洁具齐全，无破损。"),
            _rework("odour", "无异味", "保持卫生间空气清新，无异味。", 2),
            _rework("supplies", "厕纸、香精球及洗手液", "保证有足够厕纸、香精球及洗手液。", 2),
            _rework("waste", "纸篓", "纸花篓经常保持清洁，垃圾不得过半。"),
            _rework("partitions", "木隔板", "卫生间木隔板无尘、无水迹。"),
            _rework("drain", "下水道口", "下水道口无集水。"),
        ],
    ),
    # §3.6.4 1 10] 安全走道及楼梯, §3.6.4 5. 扶手栏杆, §3.6.6 14 消防走廊、楼梯
    _cleaning(
        "cleaning_stairwell",
        "stairwell",
        "清洁标准：楼梯及消防通道",
        "楼梯（§3.6.4 1 10]、5）",
        [
            _rework("steps", "楼梯及安全走道", "先打扫一遍再用湿拖把将地面拖干净，地面无纸屑、无尘土。", 2),
            _rework("handrails", "不锈钢扶手", "不锈钢扶手光亮、无浮尘、无手印。"),
            _rework("railings", "栏杆", "栏杆无灰尘，每日用湿布擦拭一遍。"),
            _rework("clear", "消防通道畅通", "消防通道、安全出口无杂物堆放。"),
        ],
    ),
    # §3.6.4 8. 垃圾处理 3]–5] 地库, §3.6.6 11 车道、车库地面
    _cleaning(
        "cleaning_car_park",
        "car_park",
        "清洁标准：地库",
        "地库（§3.6.4 8、§3.6.6 11）",
        [
            _rework("floor", "车库地面", "地库垃圾的清扫要做到地面无纸屑等其他可见的脏物。", 2),
            _rework("ramps", "车道进出口及减速台", "车道进出口、减速台清洁，无垃圾、无油污。"),
            _rework("refuse_room", "垃圾房", "收集整理垃圾房，垃圾不外溢。"),
        ],
    ),
    # §3.6.4 6. 办公室清洁
    _cleaning(
        "cleaning_office",
        "office",
        "清洁标准：管理处办公室",
        "办公室（§3.6.4 6）",
        [
            _rework("floor", "地面", "办公室及会议室地面清洁，无纸屑，拖抹干净。", 2),
            _rework("desks", "桌面及立柜", "桌面材料整齐，办公椅推到桌下；桌面及立柜先湿布后干布擦拭干净。"),
            _rework("windows", "玻璃窗及房门", "玻璃窗、房门做到无污尘、无手印、无水迹。"),
            _rework("windows_closed", "门窗关闭", "清洁完毕关闭办公室所有玻璃窗。"),
        ],
    ),
    # §3.6.6 1、6、12、13 外围
    _cleaning(
        "cleaning_exterior",
        "exterior",
        "清洁标准：外围",
        "外围（§3.6.6）",
        [
            _rework("paving", "外围麻石地", "外围麻石地无纸屑、无污渍。", 2),
            _rework("lights", "草坪灯、地锁、照明灯", "外围草坪灯、地锁、照明灯清理擦拭干净。"),
            _rework("drains", "外围地沟", "外围地沟无垃圾、无堵塞。"),
            _rework("bike_shed", "自行车棚", "外围自行车棚清扫干净。"),
        ],
    ),
    # §3.6.6: a periodic job done, recorded by whoever did it. Its own wording is the assignment's.
    {
        "key": "cleaning_task",
        "kind": "cleaning_task",
        "area_type": None,
        "department": "cleaning",
        "roles": CLEANERS,
        "title": "周期清洁任务",
        "sections": [
            {
                "title": "清洁工作周期（§3.6.6）",
                "items": [
                    {"id": "done", "label": "已按要求完成", "type": "yes_no"},
                    {"id": "photo", "label": "完成后照片", "type": "photo", "required": False},
                    {"id": "remarks", "label": "备注", "type": "text", "required": False},
                ],
            }
        ],
    },
    # §3.2.4 4] 2] A. 客服部
    {
        "key": "fitout_cs",
        "kind": "fitout",
        "area_type": "unit",
        "department": "customer_service",
        "roles": ["customer_service"],
        "title": "二装日常巡查：客服部",
        "sections": [
            {
                "title": "客服部巡视（§3.2.4 4）",
                "items": [
                    _violation(
                        "protection",
                        "公共区域成品保护",
                        "装修方须做好公共区域及装修单元内的成品保护。",
                        "customer_service",
                    ),
                    _violation(
                        "facilities",
                        "公共设施设备保护",
                        "检查施工单元内外的公共设施设备的保护情况。",
                        "customer_service",
                    ),
                    _violation("noise", "噪音施工时段", "严格按照大厦规定时段使用强噪音施工工具。", "customer_service"),
                    _violation("debris", "施工垃圾", "施工垃圾做到随时清理。", "customer_service"),
                    _violation(
                        "posted", "开工证张贴", "开工证、二装问答及违章施工处罚规定贴在单元门上。", "customer_service"
                    ),
                    {"id": "progress", "label": "施工进度", "type": "choice", "choices": ["正常", "滞后", "提前"]},
                    {"id": "remarks", "label": "巡视纪录", "type": "text", "required": False},
                ],
            }
        ],
    },
    # §3.2.4 4] 2] B. 工程部
    {
        "key": "fitout_eng",
        "kind": "fitout",
        "area_type": "unit",
        "department": "engineering",
        "roles": ["engineer"],
        "title": "二装日常巡查：工程部",
        "sections": [
            {
                "title": "工程部巡视（§3.2.4 4）",
                "items": [
                    _violation("drawings", "按报审图纸施工", "检查施工是否按报审图纸进行。", "engineering"),
                    _violation("structure", "大厦结构", "施工未对大厦结构造成破坏。", "engineering"),
                    _violation("no_violation", "无违章施工", "无违章施工。", "engineering"),
                    {"id": "remarks", "label": "巡视纪录", "type": "text", "required": False},
                ],
            }
        ],
    },
    # §3.2.4 4] 2] C. 保安部
    {
        "key": "fitout_sec",
        "kind": "fitout",
        "area_type": "unit",
        "department": "security",
        "roles": ["guard", "supervisor"],
        "title": "二装日常巡查：保安部",
        "sections": [
            {
                "title": "保安部巡视（§3.2.4 4）",
                "items": [
                    _violation("extinguishers", "灭火器", "灭火器的摆放位置数量符合消防规范。", "security"),
                    _violation("hot_work", "动火作业", "动火岗位需办理动火证。", "security"),
                    _violation("passes", "持证上岗", "二装工人全部持证上岗。", "security"),
                    _violation("discipline", "施工人员纪律", "无打架斗殴事件及其它不文明行为。", "security"),
                    _violation("crime", "治安", "无偷盗、纵火、抢劫、破坏公物等违法犯罪行为。", "security"),
                    _violation("hazards", "其他安全隐患", "无其他存在安全隐患的违章事项。", "security"),
                    {"id": "remarks", "label": "巡视纪录", "type": "text", "required": False},
                ],
            }
        ],
    },
    # §3.2.4 4] 5] 隐蔽工程验收: each of the three departments signs.
    {
        "key": "fitout_hidden_works",
        "kind": "hidden_works",
        "area_type": "unit",
        "department": "customer_service",
        "roles": ACCEPTORS,
        "title": "二装隐蔽工程验收签字",
        "sections": [
            {
                "title": "隐蔽工程验收（§3.2.4 4 5]）",
                "items": [
                    _pf(
                        "conforms",
                        "隐蔽工程符合审批图纸",
                        "隐蔽工程按报审图纸及规范施工，验收合格后各部门签字确认；如不合格则令其整改。",
                    ),
                    {"id": "remarks", "label": "验收意见", "type": "text", "required": False},
                    {"id": "signature", "label": "部门签字", "type": "signature"},
                ],
            }
        ],
    },
    # §3.2.4 5. 竣工验收
    {
        "key": "fitout_completion",
        "kind": "completion",
        "area_type": "unit",
        "department": "customer_service",
        "roles": ACCEPTORS,
        "title": "二装竣工验收签字",
        "sections": [
            {
                "title": "竣工验收（§3.2.4 5）",
                "items": [
                    _pf(
                        "conforms",
                        "装修情况符合验收要求",
                        "针对验收中存在的问题，各部门填写意见，督促装修方整改，整改后再次进行验收，直至通过。",
                    ),
                    _pf("facilities_intact", "公共设施无损坏", "对于损坏的公共设施将按价从装修押金中扣除。"),
                    {"id": "remarks", "label": "验收意见", "type": "text", "required": False},
                    {"id": "signature", "label": "部门签字", "type": "signature"},
                ],
            }
        ],
    },
    # Guard tour checkpoint (§3.10; PRODUCT.md)
    {
        "key": "patrol_checkpoint",
        "kind": "patrol",
        "area_type": "checkpoint",
        "department": "security",
        "roles": ["guard", "supervisor"],
        "title": "巡更点检查",
        "sections": [
            {
                "title": "巡更点",
                "items": [
                    _hazard("fire_door", "防火门关闭", "防火门保持关闭，通道无阻挡。"),
                    _hazard("smoke", "无烟味", "无烟味、焦味。"),
                    _hazard("lights", "照明正常", "照明灯具工作正常。"),
                    _hazard("water", "地面无积水", "地面无积水、无漏水。"),
                    _hazard("fire_equipment", "消防设施完好", "所有消防设备设施应保证完好有效。"),
                ],
            }
        ],
    },
    # §3.1.4 3] 收楼验收
    {
        "key": "handover",
        "kind": "handover",
        "area_type": "unit",
        "department": "customer_service",
        "roles": ["customer_service", "engineer"],
        "title": "入伙单元验收（收楼）",
        "sections": [
            {
                "title": "能源表底（§3.1.4 3）",
                "items": [
                    {
                        "id": "meter_electric",
                        "label": "电表底数",
                        "type": "number",
                        "min": 0,
                        "unit": "kWh",
                        "standard": "工程部电工协助客户确认租用单元电表底数，并填写电表底数确认单，由三方签字确认。",
                    },
                    {"id": "meter_water", "label": "水表底数", "type": "number", "min": 0, "unit": "m³"},
                ],
            },
            {
                "title": "单元验收",
                "items": [
                    _pf("equipment", "单元设备核对", "客户服务部和客户签字确认“单元设备核对表”。"),
                    {
                        "id": "keys",
                        "label": "单元钥匙数量",
                        "type": "number",
                        "min": 0,
                        "max": 50,
                        "unit": "把",
                        "standard": "单元钥匙签收表",
                    },
                    _pf(
                        "no_defects",
                        "无工程质量问题",
                        "若单元内出现工程质量问题，填写“遗漏缺陷工程申报表”，由客服部移交至工程部跟进处理。",
                        photo_on_fail=True,
                        on_fail={"ticket_kind": "repair", "department": "engineering", "due_hours": 72},
                    ),
                    {"id": "photo", "label": "单元现状照片", "type": "photo", "required": False},
                    {"id": "tenant_signature", "label": "客户签字", "type": "signature"},
                ],
            },
        ],
    },
    # §3.13.4 验房
    {
        "key": "moveout",
        "kind": "moveout",
        "area_type": "unit",
        "department": "customer_service",
        "roles": ["customer_service", "engineer"],
        "title": "客户迁出验房",
        "sections": [
            {
                "title": "迁出验房（§3.13.4）",
                "items": [
                    {"id": "passes_returned", "label": "出入证已交回", "type": "yes_no"},
                    {"id": "keys_returned", "label": "单元钥匙已如数交回", "type": "yes_no"},
                    _pf("restored", "房态已恢复", "房态已按物业管理公司要求恢复。"),
                    _pf("no_damage", "房内无设施破损", "单元内若有损坏，应注明地点及应赔金额。", photo_on_fail=True),
                    {
                        "id": "damage_amount",
                        "label": "应赔金额",
                        "type": "number",
                        "min": 0,
                        "unit": "元",
                        "required": False,
                    },
                    {
                        "id": "meter_electric",
                        "label": "电表读数",
                        "type": "number",
                        "min": 0,
                        "unit": "kWh",
                        "standard": "通知工程部检验设备，查抄电表，关闭电闸、空调。",
                    },
                    {"id": "extinguishers_returned", "label": "所租灭火器已退回", "type": "yes_no"},
                    {"id": "parking", "label": "车位退租", "type": "choice", "choices": ["无车位", "已办理", "未办理"]},
                    {"id": "tenant_signature", "label": "客户签字", "type": "signature"},
                ],
            }
        ],
    },
    # §3.7.3 绿化管理标准
    {
        "key": "greening",
        "kind": "greening",
        "area_type": "greening",
        "department": "cleaning",
        "roles": ["cleaner", "supervisor", "customer_service"],
        "title": "绿化检查",
        "sections": [
            {
                "title": "绿化管理标准（§3.7.3）",
                "items": [
                    _rework("pots", "植物盆内", "植物盆内无烟头、杂物；叶面、枝干无浓厚浮灰，保持叶色翠绿。"),
                    _rework("wilting", "无枯萎", "各类植物无枯萎、凋谢现象。"),
                    _rework("planters", "盆缸", "盆缸清擦干净、无污、无渍。"),
                    _rework("lawn_even", "草坪修剪", "草坪修剪整齐，无高低不平现象。"),
                    _rework("pruning", "枝叶修剪", "枝叶修剪齐整，无杂乱现象。"),
                    _rework("lawn_clean", "草坪清洁", "草坪干净无纸屑、杂物。"),
                    _rework("pests", "无病虫害", "各类植物无病虫害。"),
                    _rework("trampled", "草坪无踏坏", "严格管理草坪禁止人为踏坏，影响美观。"),
                ],
            }
        ],
    },
    # §3.9.1 前台交接班制度
    {
        "key": "shift_handover",
        "kind": "shift_handover",
        "area_type": "front_desk",
        "department": "customer_service",
        "roles": ["customer_service"],
        "title": "前台交接班记录",
        "sections": [
            {
                "title": "交接班（§3.9.1）",
                "items": [
                    _pf("desk_tidy", "工作台整洁", "理好工作台，使下一班人员感到整洁、舒适，有条理。"),
                    {
                        "id": "log",
                        "label": "本班工作记录",
                        "type": "text",
                        "standard": "交班人员应将本班工作进行情况做好详细记录，并向接班人员如实反映。",
                    },
                    {"id": "follow_up", "label": "待跟进事项", "type": "text", "required": False},
                    _pf("equipment", "设备运行情况", "和接班人员共同核实，检查设备运行情况。"),
                    {
                        "id": "signature",
                        "label": "交班人签名",
                        "type": "signature",
                        "standard": "记录必须交班人签名认可。",
                    },
                ],
            }
        ],
    },
]


def definition_of(entry: dict) -> Definition:
    return Definition.model_validate({"sections": entry["sections"]})
