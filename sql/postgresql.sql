-- pii_gen schema for postgresql; generated from src/pii_gen/packs/person/contract.py, do not edit by hand.
CREATE TABLE "pii_gen_runs" (
    "run_id" VARCHAR(36) NOT NULL,
    "seed" BIGINT NOT NULL,
    "person_count" BIGINT NOT NULL,
    "batch_size" INTEGER NOT NULL,
    "config" VARCHAR(4000) NOT NULL,
    "started_at" TIMESTAMP NOT NULL,
    "finished_at" TIMESTAMP,
    CONSTRAINT "pk_pii_gen_runs" PRIMARY KEY ("run_id")
);

CREATE TABLE "pii_gen_load_log" (
    "run_id" VARCHAR(36) NOT NULL,
    "table_name" VARCHAR(40) NOT NULL,
    "batch_number" INTEGER NOT NULL,
    "row_count" BIGINT NOT NULL,
    "checksum" VARCHAR(8) NOT NULL,
    "loaded_at" TIMESTAMP NOT NULL,
    CONSTRAINT "pk_pii_gen_load_log" PRIMARY KEY ("run_id", "table_name", "batch_number"),
    CONSTRAINT "fk_pii_gen_load_log_run_id" FOREIGN KEY ("run_id") REFERENCES "pii_gen_runs" ("run_id")
);

CREATE TABLE "pii_gen_marker" (
    "kind" VARCHAR(16) NOT NULL,
    "name" VARCHAR(128) NOT NULL,
    "position" INTEGER NOT NULL,
    "expires_at" BIGINT,
    "detail" VARCHAR(64),
    "created_at" TIMESTAMP NOT NULL,
    CONSTRAINT "pk_pii_gen_marker" PRIMARY KEY ("kind", "name")
);

CREATE TABLE "households" (
    "household_id" BIGINT NOT NULL,
    "household_type" VARCHAR(24) NOT NULL,
    "size" SMALLINT NOT NULL,
    "is_group_quarters" BOOLEAN NOT NULL,
    "address_id" BIGINT NOT NULL,
    "household_income" BIGINT NOT NULL,
    CONSTRAINT "pk_households" PRIMARY KEY ("household_id")
);

CREATE TABLE "persons" (
    "person_id" BIGINT NOT NULL,
    "ssn" VARCHAR(11) NOT NULL,
    "first_name" VARCHAR(40) NOT NULL,
    "middle_name" VARCHAR(40),
    "last_name" VARCHAR(40) NOT NULL,
    "name_suffix" VARCHAR(4),
    "nickname" VARCHAR(40),
    "sex" VARCHAR(1) NOT NULL,
    "date_of_birth" DATE NOT NULL,
    "race_ethnicity" VARCHAR(40) NOT NULL,
    "marital_status" VARCHAR(16) NOT NULL,
    "education" VARCHAR(24) NOT NULL,
    "household_id" BIGINT NOT NULL,
    "household_role" VARCHAR(16) NOT NULL,
    CONSTRAINT "pk_persons" PRIMARY KEY ("person_id"),
    CONSTRAINT "fk_persons_household_id" FOREIGN KEY ("household_id") REFERENCES "households" ("household_id")
);

CREATE TABLE "addresses" (
    "address_id" BIGINT NOT NULL,
    "person_id" BIGINT NOT NULL,
    "address_type" VARCHAR(10) NOT NULL,
    "street" VARCHAR(60) NOT NULL,
    "unit" VARCHAR(16),
    "city" VARCHAR(40) NOT NULL,
    "state" VARCHAR(2) NOT NULL,
    "zip_code" VARCHAR(5) NOT NULL,
    "county" VARCHAR(40),
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION,
    "valid_from" DATE NOT NULL,
    "valid_to" DATE,
    CONSTRAINT "pk_addresses" PRIMARY KEY ("address_id"),
    CONSTRAINT "fk_addresses_person_id" FOREIGN KEY ("person_id") REFERENCES "persons" ("person_id")
);

CREATE INDEX "ix_addresses_person_id" ON "addresses" ("person_id");

CREATE TABLE "phone_numbers" (
    "phone_id" BIGINT NOT NULL,
    "person_id" BIGINT NOT NULL,
    "phone_type" VARCHAR(6) NOT NULL,
    "phone_number" VARCHAR(12) NOT NULL,
    "is_primary" BOOLEAN NOT NULL,
    CONSTRAINT "pk_phone_numbers" PRIMARY KEY ("phone_id"),
    CONSTRAINT "fk_phone_numbers_person_id" FOREIGN KEY ("person_id") REFERENCES "persons" ("person_id")
);

CREATE INDEX "ix_phone_numbers_person_id" ON "phone_numbers" ("person_id");

CREATE TABLE "email_addresses" (
    "email_id" BIGINT NOT NULL,
    "person_id" BIGINT NOT NULL,
    "email_type" VARCHAR(8) NOT NULL,
    "email" VARCHAR(96) NOT NULL,
    "is_primary" BOOLEAN NOT NULL,
    CONSTRAINT "pk_email_addresses" PRIMARY KEY ("email_id"),
    CONSTRAINT "fk_email_addresses_person_id" FOREIGN KEY ("person_id") REFERENCES "persons" ("person_id")
);

CREATE INDEX "ix_email_addresses_person_id" ON "email_addresses" ("person_id");

CREATE TABLE "employments" (
    "employment_id" BIGINT NOT NULL,
    "person_id" BIGINT NOT NULL,
    "employer_name" VARCHAR(80) NOT NULL,
    "job_title" VARCHAR(100) NOT NULL,
    "occupation_code" VARCHAR(7) NOT NULL,
    "industry" VARCHAR(80) NOT NULL,
    "start_date" DATE NOT NULL,
    "end_date" DATE,
    "annual_salary" INTEGER NOT NULL,
    "is_current" BOOLEAN NOT NULL,
    CONSTRAINT "pk_employments" PRIMARY KEY ("employment_id"),
    CONSTRAINT "fk_employments_person_id" FOREIGN KEY ("person_id") REFERENCES "persons" ("person_id")
);

CREATE INDEX "ix_employments_person_id" ON "employments" ("person_id");

CREATE TABLE "financial_profiles" (
    "person_id" BIGINT NOT NULL,
    "annual_income" INTEGER NOT NULL,
    "credit_score" SMALLINT NOT NULL,
    "total_debt" INTEGER NOT NULL,
    "debt_to_income" REAL NOT NULL,
    "credit_card_number" VARCHAR(19) NOT NULL,
    "bank_account_number" VARCHAR(17) NOT NULL,
    "routing_number" VARCHAR(9) NOT NULL,
    CONSTRAINT "pk_financial_profiles" PRIMARY KEY ("person_id"),
    CONSTRAINT "fk_financial_profiles_person_id" FOREIGN KEY ("person_id") REFERENCES "persons" ("person_id")
);

CREATE TABLE "relationships" (
    "relationship_id" BIGINT NOT NULL,
    "person_id" BIGINT NOT NULL,
    "related_person_id" BIGINT NOT NULL,
    "relationship_type" VARCHAR(16) NOT NULL,
    CONSTRAINT "pk_relationships" PRIMARY KEY ("relationship_id"),
    CONSTRAINT "fk_relationships_person_id" FOREIGN KEY ("person_id") REFERENCES "persons" ("person_id"),
    CONSTRAINT "fk_relationships_related_person_id" FOREIGN KEY ("related_person_id") REFERENCES "persons" ("person_id")
);

CREATE INDEX "ix_relationships_person_id" ON "relationships" ("person_id");
