-- pii_gen schema for tsql; generated from src/pii_gen/packs/person/contract.py, do not edit by hand.
CREATE TABLE [pii_gen_runs] (
    [run_id] NVARCHAR(36) NOT NULL,
    [seed] BIGINT NOT NULL,
    [person_count] BIGINT NOT NULL,
    [batch_size] INT NOT NULL,
    [config] NVARCHAR(4000) NOT NULL,
    [started_at] DATETIME2(6) NOT NULL,
    [finished_at] DATETIME2(6),
    CONSTRAINT [pk_pii_gen_runs] PRIMARY KEY ([run_id])
)
GO
CREATE TABLE [pii_gen_load_log] (
    [run_id] NVARCHAR(36) NOT NULL,
    [table_name] NVARCHAR(40) NOT NULL,
    [batch_number] INT NOT NULL,
    [row_count] BIGINT NOT NULL,
    [checksum] NVARCHAR(8) NOT NULL,
    [loaded_at] DATETIME2(6) NOT NULL,
    CONSTRAINT [pk_pii_gen_load_log] PRIMARY KEY ([run_id], [table_name], [batch_number]),
    CONSTRAINT [fk_pii_gen_load_log_run_id] FOREIGN KEY ([run_id]) REFERENCES [pii_gen_runs] ([run_id])
)
GO
CREATE TABLE [pii_gen_marker] (
    [kind] NVARCHAR(16) NOT NULL,
    [name] NVARCHAR(128) NOT NULL,
    [position] INT NOT NULL,
    [expires_at] BIGINT,
    [detail] NVARCHAR(64),
    [created_at] DATETIME2(6) NOT NULL,
    CONSTRAINT [pk_pii_gen_marker] PRIMARY KEY ([kind], [name])
)
GO
CREATE TABLE [households] (
    [household_id] BIGINT NOT NULL,
    [household_type] NVARCHAR(24) NOT NULL,
    [size] SMALLINT NOT NULL,
    [is_group_quarters] BIT NOT NULL,
    [address_id] BIGINT NOT NULL,
    [household_income] BIGINT NOT NULL,
    CONSTRAINT [pk_households] PRIMARY KEY ([household_id])
)
GO
CREATE TABLE [persons] (
    [person_id] BIGINT NOT NULL,
    [ssn] NVARCHAR(11) NOT NULL,
    [first_name] NVARCHAR(40) NOT NULL,
    [middle_name] NVARCHAR(40),
    [last_name] NVARCHAR(40) NOT NULL,
    [name_suffix] NVARCHAR(4),
    [nickname] NVARCHAR(40),
    [sex] NVARCHAR(1) NOT NULL,
    [date_of_birth] DATE NOT NULL,
    [race_ethnicity] NVARCHAR(40) NOT NULL,
    [marital_status] NVARCHAR(16) NOT NULL,
    [education] NVARCHAR(24) NOT NULL,
    [household_id] BIGINT NOT NULL,
    [household_role] NVARCHAR(16) NOT NULL,
    CONSTRAINT [pk_persons] PRIMARY KEY ([person_id]),
    CONSTRAINT [fk_persons_household_id] FOREIGN KEY ([household_id]) REFERENCES [households] ([household_id])
)
GO
CREATE TABLE [addresses] (
    [address_id] BIGINT NOT NULL,
    [person_id] BIGINT NOT NULL,
    [address_type] NVARCHAR(10) NOT NULL,
    [street] NVARCHAR(60) NOT NULL,
    [unit] NVARCHAR(16),
    [city] NVARCHAR(40) NOT NULL,
    [state] NVARCHAR(2) NOT NULL,
    [zip_code] NVARCHAR(5) NOT NULL,
    [county] NVARCHAR(40),
    [latitude] FLOAT,
    [longitude] FLOAT,
    [valid_from] DATE NOT NULL,
    [valid_to] DATE,
    CONSTRAINT [pk_addresses] PRIMARY KEY ([address_id]),
    CONSTRAINT [fk_addresses_person_id] FOREIGN KEY ([person_id]) REFERENCES [persons] ([person_id])
)
GO
CREATE INDEX [ix_addresses_person_id] ON [addresses] ([person_id])
GO
CREATE TABLE [phone_numbers] (
    [phone_id] BIGINT NOT NULL,
    [person_id] BIGINT NOT NULL,
    [phone_type] NVARCHAR(6) NOT NULL,
    [phone_number] NVARCHAR(12) NOT NULL,
    [is_primary] BIT NOT NULL,
    CONSTRAINT [pk_phone_numbers] PRIMARY KEY ([phone_id]),
    CONSTRAINT [fk_phone_numbers_person_id] FOREIGN KEY ([person_id]) REFERENCES [persons] ([person_id])
)
GO
CREATE INDEX [ix_phone_numbers_person_id] ON [phone_numbers] ([person_id])
GO
CREATE TABLE [email_addresses] (
    [email_id] BIGINT NOT NULL,
    [person_id] BIGINT NOT NULL,
    [email_type] NVARCHAR(8) NOT NULL,
    [email] NVARCHAR(96) NOT NULL,
    [is_primary] BIT NOT NULL,
    CONSTRAINT [pk_email_addresses] PRIMARY KEY ([email_id]),
    CONSTRAINT [fk_email_addresses_person_id] FOREIGN KEY ([person_id]) REFERENCES [persons] ([person_id])
)
GO
CREATE INDEX [ix_email_addresses_person_id] ON [email_addresses] ([person_id])
GO
CREATE TABLE [employments] (
    [employment_id] BIGINT NOT NULL,
    [person_id] BIGINT NOT NULL,
    [employer_name] NVARCHAR(80) NOT NULL,
    [job_title] NVARCHAR(100) NOT NULL,
    [occupation_code] NVARCHAR(7) NOT NULL,
    [industry] NVARCHAR(80) NOT NULL,
    [start_date] DATE NOT NULL,
    [end_date] DATE,
    [annual_salary] INT NOT NULL,
    [is_current] BIT NOT NULL,
    CONSTRAINT [pk_employments] PRIMARY KEY ([employment_id]),
    CONSTRAINT [fk_employments_person_id] FOREIGN KEY ([person_id]) REFERENCES [persons] ([person_id])
)
GO
CREATE INDEX [ix_employments_person_id] ON [employments] ([person_id])
GO
CREATE TABLE [financial_profiles] (
    [person_id] BIGINT NOT NULL,
    [annual_income] INT NOT NULL,
    [credit_score] SMALLINT NOT NULL,
    [total_debt] INT NOT NULL,
    [debt_to_income] REAL NOT NULL,
    [credit_card_number] NVARCHAR(19) NOT NULL,
    [bank_account_number] NVARCHAR(17) NOT NULL,
    [routing_number] NVARCHAR(9) NOT NULL,
    CONSTRAINT [pk_financial_profiles] PRIMARY KEY ([person_id]),
    CONSTRAINT [fk_financial_profiles_person_id] FOREIGN KEY ([person_id]) REFERENCES [persons] ([person_id])
)
GO
CREATE TABLE [relationships] (
    [relationship_id] BIGINT NOT NULL,
    [person_id] BIGINT NOT NULL,
    [related_person_id] BIGINT NOT NULL,
    [relationship_type] NVARCHAR(16) NOT NULL,
    CONSTRAINT [pk_relationships] PRIMARY KEY ([relationship_id]),
    CONSTRAINT [fk_relationships_person_id] FOREIGN KEY ([person_id]) REFERENCES [persons] ([person_id]),
    CONSTRAINT [fk_relationships_related_person_id] FOREIGN KEY ([related_person_id]) REFERENCES [persons] ([person_id])
)
GO
CREATE INDEX [ix_relationships_person_id] ON [relationships] ([person_id])
GO
