-- The tables of voltlab 0.1.0, the last release without migrations: the DDL that
-- Base.metadata.create_all emitted on sqlite at commit 15cd8b3 (rendered by SQLAlchemy 2.1.9).
-- Frozen: it stands for databases that exist; never regenerate it from newer models.

CREATE TABLE orgs (
	id VARCHAR(40) NOT NULL, 
	name VARCHAR(120) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE frames (
	id INTEGER NOT NULL, 
	charger_id VARCHAR(40) NOT NULL, 
	ts DATETIME NOT NULL, 
	direction VARCHAR(3) NOT NULL, 
	frame TEXT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_frames_charger_id_id ON frames (charger_id, id);

CREATE TABLE clock_state (
	id INTEGER NOT NULL, 
	simulated FLOAT NOT NULL, 
	wall FLOAT NOT NULL, 
	time_scale FLOAT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE csms_station_credentials (
	cpo_id VARCHAR(40) NOT NULL, 
	identity VARCHAR(128) NOT NULL, 
	password_hash VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (cpo_id, identity)
);

CREATE TABLE findings (
	id VARCHAR(40) NOT NULL, 
	charger_id VARCHAR(40), 
	location_id VARCHAR(40), 
	cpo_id VARCHAR(40), 
	rule VARCHAR(64) NOT NULL, 
	severity VARCHAR(8) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	detail TEXT NOT NULL, 
	spec_ref VARCHAR(300) NOT NULL, 
	at DATETIME NOT NULL, 
	evidence JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_findings_location_at ON findings (location_id, at, id);

CREATE INDEX ix_findings_cpo_at ON findings (cpo_id, at, id);

CREATE INDEX ix_findings_charger_at ON findings (charger_id, at, id);

CREATE TABLE ocpi_credentials (
	cpo_id VARCHAR(40) NOT NULL, 
	country_code VARCHAR(2) NOT NULL, 
	party_id VARCHAR(3) NOT NULL, 
	business_name VARCHAR(100) NOT NULL, 
	version VARCHAR(8) NOT NULL, 
	token_a_hash VARCHAR(64) NOT NULL, 
	token_c_hash VARCHAR(64), 
	token_b VARCHAR(255), 
	token_b_base64 BOOLEAN NOT NULL, 
	peer_versions_url VARCHAR(500), 
	peer_version VARCHAR(8), 
	peer_details_url VARCHAR(500), 
	peer_endpoints JSON, 
	peer_roles JSON, 
	registered_at DATETIME, 
	unregistered_at DATETIME, 
	revoked BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (cpo_id), 
	UNIQUE (token_a_hash), 
	UNIQUE (token_c_hash)
);

CREATE TABLE ocpi_objects (
	id INTEGER NOT NULL, 
	cpo_id VARCHAR(40) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	object_id VARCHAR(64) NOT NULL, 
	last_updated DATETIME NOT NULL, 
	body JSON NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_ocpi_object UNIQUE (cpo_id, kind, object_id)
);

CREATE INDEX ix_ocpi_objects_paging ON ocpi_objects (cpo_id, kind, last_updated, object_id);

CREATE TABLE ocpi_tokens (
	id INTEGER NOT NULL, 
	cpo_id VARCHAR(40) NOT NULL, 
	country_code VARCHAR(2) NOT NULL, 
	party_id VARCHAR(3) NOT NULL, 
	uid VARCHAR(36) NOT NULL, 
	token_type VARCHAR(16) NOT NULL, 
	body JSON NOT NULL, 
	last_updated DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_ocpi_token UNIQUE (cpo_id, country_code, party_id, uid, token_type)
);

CREATE INDEX ix_ocpi_tokens_lookup ON ocpi_tokens (cpo_id, uid, token_type);

CREATE TABLE ocpi_traffic (
	id INTEGER NOT NULL, 
	cpo_id VARCHAR(40) NOT NULL, 
	direction VARCHAR(3) NOT NULL, 
	module VARCHAR(32) NOT NULL, 
	http_status INTEGER NOT NULL, 
	ocpi_status INTEGER NOT NULL, 
	count INTEGER NOT NULL, 
	last_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_ocpi_traffic UNIQUE (cpo_id, direction, module, http_status, ocpi_status)
);

CREATE INDEX ix_ocpi_traffic_cpo_id ON ocpi_traffic (cpo_id);

CREATE TABLE ocpi_pushes (
	id INTEGER NOT NULL, 
	cpo_id VARCHAR(40) NOT NULL, 
	module VARCHAR(32) NOT NULL, 
	method VARCHAR(8) NOT NULL, 
	url VARCHAR(1000) NOT NULL, 
	object_key VARCHAR(200) NOT NULL, 
	outcome VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	http_status INTEGER, 
	ocpi_status INTEGER, 
	error TEXT, 
	created_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_ocpi_pushes_cpo_id ON ocpi_pushes (cpo_id, id);

CREATE TABLE ocpi_authorizations (
	id INTEGER NOT NULL, 
	cpo_id VARCHAR(40) NOT NULL, 
	uid VARCHAR(36) NOT NULL, 
	auth_method VARCHAR(16) NOT NULL, 
	token JSON, 
	authorization_reference VARCHAR(36), 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_ocpi_authorization UNIQUE (cpo_id, uid)
);

CREATE TABLE ocpi_requests (
	id INTEGER NOT NULL, 
	cpo_id VARCHAR(40) NOT NULL, 
	ts DATETIME NOT NULL, 
	direction VARCHAR(3) NOT NULL, 
	method VARCHAR(8) NOT NULL, 
	module VARCHAR(32) NOT NULL, 
	url VARCHAR(1000) NOT NULL, 
	http_status INTEGER, 
	ocpi_status INTEGER, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_ocpi_requests_cpo_id_id ON ocpi_requests (cpo_id, id);

CREATE TABLE queued_messages (
	id INTEGER NOT NULL, 
	charger_id VARCHAR(40) NOT NULL, 
	seq INTEGER NOT NULL, 
	action VARCHAR(64) NOT NULL, 
	payload JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	attempts INTEGER NOT NULL, 
	last_error TEXT, 
	PRIMARY KEY (id)
);

CREATE UNIQUE INDEX ix_queued_messages_charger_seq ON queued_messages (charger_id, seq);

CREATE TABLE scenario_runs (
	id VARCHAR(40) NOT NULL, 
	org_id VARCHAR(40) NOT NULL, 
	scenario_name VARCHAR(100) NOT NULL, 
	scenario JSON NOT NULL, 
	target JSON NOT NULL, 
	params JSON NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	verdict VARCHAR(20), 
	steps JSON NOT NULL, 
	findings JSON NOT NULL, 
	findings_available BOOLEAN, 
	chargers JSON NOT NULL, 
	message TEXT, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_scenario_runs_org_created ON scenario_runs (org_id, created_at);

CREATE TABLE api_keys (
	id VARCHAR(40) NOT NULL, 
	org_id VARCHAR(40) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	key_hash VARCHAR(64) NOT NULL, 
	prefix VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	revoked_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(org_id) REFERENCES orgs (id) ON DELETE CASCADE, 
	UNIQUE (key_hash)
);

CREATE INDEX ix_api_keys_org_id ON api_keys (org_id);

CREATE TABLE locations (
	id VARCHAR(40) NOT NULL, 
	org_id VARCHAR(40) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	csms_url VARCHAR(500) NOT NULL, 
	ocpp_version VARCHAR(16) NOT NULL, 
	model VARCHAR(64) NOT NULL, 
	identity_prefix VARCHAR(64) NOT NULL, 
	security JSON, 
	cpo_id VARCHAR(40), 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(org_id) REFERENCES orgs (id) ON DELETE CASCADE
);

CREATE INDEX ix_locations_cpo_id ON locations (cpo_id);

CREATE INDEX ix_locations_org_id ON locations (org_id);

CREATE TABLE commands (
	id VARCHAR(40) NOT NULL, 
	org_id VARCHAR(40) NOT NULL, 
	charger_id VARCHAR(40) NOT NULL, 
	identity VARCHAR(128) NOT NULL, 
	location_id VARCHAR(40), 
	event_type VARCHAR(40) NOT NULL, 
	ocpp_version VARCHAR(16) NOT NULL, 
	payload JSON NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	result JSON, 
	error JSON, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(org_id) REFERENCES orgs (id) ON DELETE CASCADE
);

CREATE INDEX ix_commands_charger_id ON commands (charger_id);

CREATE INDEX ix_commands_location_id ON commands (location_id);

CREATE INDEX ix_commands_org_created ON commands (org_id, created_at);

CREATE TABLE cpos (
	id VARCHAR(40) NOT NULL, 
	org_id VARCHAR(40) NOT NULL, 
	template VARCHAR(64) NOT NULL, 
	template_version INTEGER NOT NULL, 
	country_code VARCHAR(2) NOT NULL, 
	party_id VARCHAR(3) NOT NULL, 
	requested_party_id VARCHAR(3) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	name_prefix VARCHAR(32) NOT NULL, 
	ocpi_version VARCHAR(8) NOT NULL, 
	seed INTEGER NOT NULL, 
	overrides JSON NOT NULL, 
	ttl_seconds INTEGER, 
	expires_at DATETIME, 
	status VARCHAR(16) NOT NULL, 
	workflow_run_id VARCHAR(80), 
	error TEXT, 
	created_at DATETIME NOT NULL, 
	ready_at DATETIME, 
	destroyed_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(org_id) REFERENCES orgs (id) ON DELETE CASCADE
);

CREATE INDEX ix_cpos_org_created ON cpos (org_id, created_at);

CREATE TABLE chargers (
	id VARCHAR(40) NOT NULL, 
	org_id VARCHAR(40) NOT NULL, 
	location_id VARCHAR(40), 
	identity VARCHAR(128) NOT NULL, 
	csms_url VARCHAR(500) NOT NULL, 
	ocpp_version VARCHAR(16) NOT NULL, 
	model VARCHAR(64) NOT NULL, 
	security JSON, 
	desired_running BOOLEAN NOT NULL, 
	state JSON, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_charger_org_identity UNIQUE (org_id, identity), 
	FOREIGN KEY(org_id) REFERENCES orgs (id) ON DELETE CASCADE, 
	FOREIGN KEY(location_id) REFERENCES locations (id) ON DELETE CASCADE
);

CREATE INDEX ix_chargers_location_id ON chargers (location_id);

CREATE INDEX ix_chargers_org_id ON chargers (org_id);

CREATE TABLE cpo_steps (
	id INTEGER NOT NULL, 
	cpo_id VARCHAR(40) NOT NULL, 
	position INTEGER NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	last_error TEXT, 
	detail JSON, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_cpo_step UNIQUE (cpo_id, name), 
	FOREIGN KEY(cpo_id) REFERENCES cpos (id) ON DELETE CASCADE
);

CREATE INDEX ix_cpo_steps_cpo_id ON cpo_steps (cpo_id);

